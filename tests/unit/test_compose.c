/*
 * test_compose.c - one recipient's message: the text, the link, the roster
 * target, and the JSON handed to plugins, which must stay valid JSON for
 * any title, body or name an operator or a roster can supply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../daemon/compose.h"
#include "../../daemon/message.h"

#define POSTS	"[{\"code\":\"220104001001/G01\",\"role\":\"grid_leader\"," \
	"\"rank\":1},{\"code\":\"220104001001/G01/12\",\"role\":" \
	"\"building_leader\",\"rank\":1},{\"code\":\"220104001001/G01/13\"," \
	"\"role\":\"building_leader\",\"rank\":2}]"

static const struct acktoken_key ackkey = { .k = { 1, 2, 3 } };

static json_t *
compose_ok(const char *title, const char *body, const char *name,
    const char *posts, const char *channels, struct composed *c)
{
	struct dlv_row row = {
		.id = 7, .recipient_id = 42, .alert_id = 5,
		.name = (char *)name, .posts = (char *)posts,
		.channels = (char *)channels,
	};
	struct alert_brief a = {
		.kind = ALERT_DRILL, .severity = SEV_YELLOW,
		.title = (char *)title, .body = (char *)body,
		.created_at = 1795984200000LL,
	};
	struct compose_in in = {
		.row = &row, .alert = &a, .tmpl = "{title}：{body}（{posts}）{url}",
		.public_url = "http://127.0.0.1:8787", .key = &ackkey,
		.target_key = "webhook",
	};
	char err[256];
	json_error_t jerr;
	json_t *doc;

	snprintf(row.phone, sizeof(row.phone), "13800000001");
	assert_int_equal(compose(&in, c, err, sizeof(err)), 0);
	doc = json_loads(c->json, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		fail_msg("not JSON (%s): %s", jerr.text, c->json);
	return doc;
}

static const char *
str_at(json_t *doc, const char *obj, const char *key)
{
	json_t *o = obj != NULL ? json_object_get(doc, obj) : doc;

	assert_non_null(o);
	assert_non_null(json_object_get(o, key));
	return json_string_value(json_object_get(o, key));
}

static void
test_plain(void **state)
{
	struct composed c;
	json_t *doc;

	(void)state;
	doc = compose_ok("消防疏散演练", "11月30日10:00开展演练。", "张伟", POSTS,
	    "webhook=https://im.example/h/abc;sms=x", &c);
	/* One label per role, in the order first held. */
	assert_non_null(strstr(c.text, "（网格长、楼栋长）"));
	assert_int_equal(strncmp(c.text, MESSAGE_DRILL_MARK,
	    strlen(MESSAGE_DRILL_MARK)), 0);
	assert_string_equal(c.target, "https://im.example/h/abc");
	assert_int_equal(strncmp(c.url, "http://127.0.0.1:8787/a/", 24), 0);
	assert_string_equal(str_at(doc, NULL, "text"), c.text);
	assert_string_equal(str_at(doc, NULL, "ack_url"), c.url);
	assert_string_equal(str_at(doc, "alert", "kind"), "drill");
	assert_string_equal(str_at(doc, "alert", "severity"), "yellow");
	assert_string_equal(str_at(doc, "alert", "code"), "A5");
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(doc, "alert"), "id")), 5);
	assert_string_equal(str_at(doc, "recipient", "phone"), "13800000001");
	assert_string_equal(str_at(doc, "recipient", "name"), "张伟");
	assert_int_equal(json_array_size(json_object_get(json_object_get(doc,
	    "recipient"), "posts")), 3);
	json_decref(doc);
	composed_free(&c);
}

/* Quotes, backslashes and control characters cannot break the JSON. */
static void
test_escaping(void **state)
{
	const char *title = "\"引号\" \\ 反斜杠";
	const char *body = "第一行\n第二行\t\"}]";
	const char *name = "O\"Brien\\\x01";
	struct composed c;
	json_t *doc;

	(void)state;
	doc = compose_ok(title, body, name, POSTS, "", &c);
	assert_string_equal(str_at(doc, "alert", "title"), title);
	assert_string_equal(str_at(doc, "alert", "body"), body);
	assert_string_equal(str_at(doc, "recipient", "name"), name);
	assert_string_equal(str_at(doc, NULL, "text"), c.text);
	assert_null(c.target);
	json_decref(doc);
	composed_free(&c);
}

/* Posts that are not a JSON array are never spliced in. */
static void
test_bad_posts(void **state)
{
	struct composed c;
	json_t *doc;

	(void)state;
	doc = compose_ok("t", "b", "n", "{\"x\":1}", NULL, &c);
	assert_int_equal(json_array_size(json_object_get(json_object_get(doc,
	    "recipient"), "posts")), 0);
	json_decref(doc);
	composed_free(&c);
	doc = compose_ok("t", "b", "n", "", NULL, &c);
	json_decref(doc);
	composed_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_bad_posts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
