/*
 * test_plan.c - grouping an alert's post holders into recipients, and the
 * alert short codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "phoneseal.h"
#include "plan.h"
#include "roster.h"

/* The plan sees seals only: the tests seal and open with a fixed key. */
static struct phone_sealer *sealer;

struct seen;
static int in_order(const struct plan_rcpt *r, void *arg);

struct seen {
	char		 text[4096];
	size_t		 n;
	unsigned char	 last[PHONE_SEAL_LEN];	/* the previous seal */
	bool		 unordered;
};

static int
collect(const struct plan_rcpt *r, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);
	char phone[PHONE_SEAL_MAX + 1];

	assert_int_equal(phone_open(sealer, r->seal, PHONE_SEAL_LEN, phone), 0);
	snprintf(s->text + len, sizeof(s->text) - len, "%s %s %s %zu %s\n",
	    phone, r->name, r->grid, r->n_posts, r->posts_json);
	return in_order(r, arg);
}

/* The order only: strictly increasing seals, one per person. */
static int
in_order(const struct plan_rcpt *r, void *arg)
{
	struct seen *s = arg;

	if (s->n > 0 && memcmp(s->last, r->seal, PHONE_SEAL_LEN) >= 0)
		s->unordered = true;
	memcpy(s->last, r->seal, PHONE_SEAL_LEN);
	s->n++;
	return 0;
}

static void
feed(struct plan *p, const char *code, int role, int rank, const char *name,
    const char *phone)
{
	unsigned char seal[PHONE_SEAL_LEN];
	struct plan_post post = { code, role, rank, name, seal, NULL };

	assert_int_equal(phone_seal(sealer, phone, seal), 0);
	assert_int_equal(plan_post(p, &post), 0);
}

static void
test_one_recipient_per_phone(void **state)
{
	struct plan *p = plan_new();
	struct seen s = { .n = 0 };

	feed(p, "220104001001/G01", ROLE_GRID_LEADER, 1, "张伟", "13800000001");
	feed(p, "220104001001/G01/12", ROLE_BUILDING_LEADER, 1, "李娜", "13800000002");
	feed(p, "220104001001/G01/12/3", ROLE_UNIT_LEADER, 1, "王芳", "13800000003");
	feed(p, "220104001001/G01/12/4", ROLE_UNIT_LEADER, 1, "李娜", "13800000002");
	assert_int_equal(plan_finish(p), 0);
	assert_int_equal(plan_recipients(p), 3);
	assert_int_equal(plan_posts(p), 4);
	assert_int_equal(plan_each(p, collect, &s), 0);
	assert_int_equal(s.n, 3);
	/* In seal order (what a reply's binary search relies on). */
	assert_false(s.unordered);
	assert_non_null(strstr(s.text,
	    "13800000001 张伟 220104001001/G01 1 [{\"code\":\"220104001001/G01\","
	    "\"role\":\"grid_leader\",\"rank\":1}]\n"));
	assert_non_null(strstr(s.text,
	    "13800000002 李娜 220104001001/G01 2 [{\"code\":\"220104001001/G01/12\","
	    "\"role\":\"building_leader\",\"rank\":1},{\"code\":"
	    "\"220104001001/G01/12/4\",\"role\":\"unit_leader\",\"rank\":1}]\n"));
	assert_non_null(strstr(s.text,
	    "13800000003 王芳 220104001001/G01 1 [{\"code\":"
	    "\"220104001001/G01/12/3\",\"role\":\"unit_leader\",\"rank\":1}]\n"));
	plan_free(p);
}

/* B角 only where a post has no A角. */
static void
test_backup_stands_in(void **state)
{
	struct plan *p = plan_new();
	struct seen s = { .n = 0 };

	feed(p, "220104001001/G01", ROLE_GRID_LEADER, 1, "张伟", "13800000001");
	feed(p, "220104001001/G01", ROLE_GRID_LEADER, 2, "陈静", "13800000004");
	feed(p, "220104001001/G01/12", ROLE_BUILDING_LEADER, 2, "孙磊", "13800000005");
	assert_int_equal(plan_finish(p), 0);
	assert_int_equal(plan_each(p, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_null(strstr(s.text, "陈静"));
	assert_non_null(strstr(s.text, "孙磊"));
	plan_free(p);
}

/* Several villager representatives of one grid are all recipients. */
static void
test_several_holders(void **state)
{
	struct plan *p = plan_new();

	feed(p, "220183105201/三组", ROLE_GRID_LEADER, 1, "刘洋", "13900000011");
	feed(p, "220183105201/三组", ROLE_VILLAGER_REP, 1, "孙丽", "13900000012");
	feed(p, "220183105201/三组", ROLE_VILLAGER_REP, 1, "钱进", "15900000013");
	assert_int_equal(plan_finish(p), 0);
	assert_int_equal(plan_recipients(p), 3);
	plan_free(p);
}

/* Street- and community-level posts count under their own code. */
static void
test_grid_attribution(void **state)
{
	struct plan *p = plan_new();
	struct seen s = { .n = 0 };

	feed(p, "220104001", ROLE_DUTY_OFFICER, 1, "周军", "13800000010");
	feed(p, "220104001001", ROLE_DUTY_OFFICER, 1, "赵强", "13800000009");
	assert_int_equal(plan_finish(p), 0);
	assert_int_equal(plan_each(p, collect, &s), 0);
	assert_non_null(strstr(s.text, "13800000010 周军 220104001 1"));
	assert_non_null(strstr(s.text, "13800000009 赵强 220104001001 1"));
	plan_free(p);
}

/* Many people: the hash grows and nobody is lost or merged. */
static void
test_many(void **state)
{
	struct plan *p = plan_new();
	struct seen s = { .n = 0 };
	char code[64], phone[24];

	for (int i = 0; i < 50000; i++) {
		snprintf(code, sizeof(code), "220104001001/G01/%d/%d", i / 4, i % 4);
		snprintf(phone, sizeof(phone), "1380%07d", i);
		feed(p, code, ROLE_UNIT_LEADER, 1, "某人", phone);
	}
	assert_int_equal(plan_finish(p), 0);
	assert_int_equal(plan_recipients(p), 50000);
	assert_int_equal(plan_each(p, in_order, &s), 0);
	assert_int_equal(s.n, 50000);
	assert_false(s.unordered);
	plan_free(p);
}

static void
test_codes(void **state)
{
	char code[16];

	alert_code(1, code);
	assert_string_equal(code, "A1");
	alert_code(36, code);
	assert_string_equal(code, "A10");
	alert_code(1295, code);
	assert_string_equal(code, "AZZ");
	assert_int_equal(alert_code_parse("A10"), 36);
	assert_int_equal(alert_code_parse("a10"), 36);
	assert_int_equal(alert_code_parse("36"), 36);
	assert_int_equal(alert_code_parse("A"), -1);
	assert_int_equal(alert_code_parse("1x"), -1);
	assert_int_equal(alert_code_parse(""), -1);
	assert_int_equal(rcpt_state_parse("acked"), RCPT_ACKED);
	assert_int_equal(rcpt_state_parse("bogus"), -1);
	assert_string_equal(rcpt_state_name(RCPT_EXPIRED), "expired");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_recipient_per_phone),
		cmocka_unit_test(test_backup_stands_in),
		cmocka_unit_test(test_several_holders),
		cmocka_unit_test(test_grid_attribution),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_codes),
	};

	struct phone_key key;
	int rc;

	memset(&key, 0x5a, sizeof(key));
	sealer = phone_sealer_new(&key);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	phone_sealer_free(sealer);
	return rc;
}
