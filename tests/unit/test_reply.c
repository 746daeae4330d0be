/*
 * test_reply.c - reading SMS replies: numbers, words, codes in either
 * order, full-width forms; choosing the alert; what is texted back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../daemon/alert.h"
#include "../../daemon/message.h"
#include "../../daemon/reply.h"

#define THREE	"[\"收到\",\"已通知到户\",\"需要支援\"]"

static struct reply_req
parse_ok(const char *text)
{
	struct reply_req r;

	if (reply_parse(text, &r) != 0)
		fail_msg("did not parse \"%s\"", text);
	return r;
}

static void
test_parse(void **state)
{
	struct reply_req r;

	(void)state;
	r = parse_ok("1");
	assert_int_equal(r.option, 1);
	assert_int_equal(r.alert_id, -1);
	assert_string_equal(r.word, "");
	r = parse_ok(" 1 A7 ");
	assert_int_equal(r.option, 1);
	assert_int_equal(r.alert_id, alert_code_parse("A7"));
	r = parse_ok("a7，2");
	assert_int_equal(r.option, 2);
	assert_int_equal(r.alert_id, 7);
	r = parse_ok("1a7");
	assert_int_equal(r.option, 1);
	assert_int_equal(r.alert_id, 7);
	r = parse_ok("１　Ａ７");		/* full-width digit, space, letters */
	assert_int_equal(r.option, 1);
	assert_int_equal(r.alert_id, 7);
	r = parse_ok("收到！");
	assert_int_equal(r.option, 0);
	assert_string_equal(r.word, "收到");
	r = parse_ok("【A12】 已通知到户。");
	assert_int_equal(r.alert_id, alert_code_parse("A12"));
	assert_string_equal(r.word, "已通知到户");
	r = parse_ok("OK");
	assert_string_equal(r.word, "ok");
	assert_int_equal(reply_parse("", &r), -1);
	assert_int_equal(reply_parse("  。 ", &r), -1);
	assert_int_equal(reply_parse("\xff\xfe", &r), -1);
}

static void
test_option(void **state)
{
	(void)state;
	assert_int_equal(reply_option(&(struct reply_req){ .option = 2 },
	    THREE), 2);
	assert_int_equal(reply_option(&(struct reply_req){ .option = 4 },
	    THREE), 0);
	assert_int_equal(reply_option(&(struct reply_req){ .word = "收到" },
	    THREE), 1);
	assert_int_equal(reply_option(&(struct reply_req){ .word = "确认" },
	    THREE), 1);
	assert_int_equal(reply_option(&(struct reply_req){ .word = "需要支援" },
	    THREE), 3);
	assert_int_equal(reply_option(&(struct reply_req){ .word = "ok" },
	    "[\"收到\"]"), 1);
	assert_int_equal(reply_option(&(struct reply_req){ .word = "天气" },
	    THREE), 0);
	assert_int_equal(reply_option(&(struct reply_req){ .option = 2 },
	    "[\"收到\"]"), 0);
}

static void
test_decide(void **state)
{
	struct reply_cand c[2] = {
		{ .alert_id = 7, .rcpt_id = 70, .kind = ALERT_DRILL,
		  .state = RCPT_SENT, .title = "消防疏散演练",
		  .responses = THREE },
		{ .alert_id = 9, .rcpt_id = 90, .kind = ALERT_NOTICE,
		  .state = RCPT_DELIVERED, .title = "停水通知",
		  .responses = "[\"收到\"]" },
	};
	struct reply_decision d;
	struct reply_req r;
	char *t;

	(void)state;
	r = parse_ok("1");
	reply_decide(&r, c, 0, &d);
	assert_int_equal(d.verdict, REPLY_NONE_OPEN);
	assert_null(reply_text(&d, &r, c, 0));
	reply_decide(&r, c, 1, &d);
	assert_int_equal(d.verdict, REPLY_ACK);
	assert_int_equal(d.chosen, 0);
	assert_int_equal(d.option, 1);
	/* Two open, both unanswered: ask for the code. */
	reply_decide(&r, c, 2, &d);
	assert_int_equal(d.verdict, REPLY_AMBIGUOUS);
	t = reply_text(&d, &r, c, 2);
	assert_non_null(t);
	assert_non_null(strstr(t, "A7 消防疏散演练"));
	assert_non_null(strstr(t, "A9 停水通知"));
	assert_null(strstr(t, MESSAGE_DRILL_MARK));	/* a notice is listed */
	free(t);
	/* One of the two answered already: the other is meant. */
	c[0].state = RCPT_ACKED;
	reply_decide(&r, c, 2, &d);
	assert_int_equal(d.verdict, REPLY_ACK);
	assert_int_equal(d.chosen, 1);
	c[0].state = RCPT_SENT;
	/* A code picks; a wrong code lists theirs. */
	r = parse_ok("2 A7");
	reply_decide(&r, c, 2, &d);
	assert_int_equal(d.verdict, REPLY_ACK);
	assert_int_equal(d.chosen, 0);
	assert_int_equal(d.option, 2);
	r = parse_ok("1 A8");
	reply_decide(&r, c, 2, &d);
	assert_int_equal(d.verdict, REPLY_NO_SUCH_CODE);
	t = reply_text(&d, &r, c, 2);
	assert_non_null(strstr(t, "A8"));
	free(t);
	/* Not an answer: the options are texted back, marked for a drill. */
	r = parse_ok("今天几点");
	reply_decide(&r, c, 1, &d);
	assert_int_equal(d.verdict, REPLY_UNRECOGNIZED);
	t = reply_text(&d, &r, c, 1);
	assert_int_equal(strncmp(t, MESSAGE_DRILL_MARK,
	    strlen(MESSAGE_DRILL_MARK)), 0);
	assert_non_null(strstr(t, "1 收到，2 已通知到户，3 需要支援"));
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_option),
		cmocka_unit_test(test_decide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
