/*
 * test_roster.c - the roster parser, validator, phone and code helpers,
 * and the CSV, JSON and HTML exports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <jansson.h>

#include "roster.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

#define HDR "street_code,street_name,community_code,community_name,grid," \
	"building,unit,role,rank,name,phone,channels\n"

/* The valid rows of DESIGN.md's sample. */
static const char sample_csv[] = HDR
    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n"
    "220104001,南湖街道,220104001001,南湖社区,G01,12,,building_leader,1,李娜,13800000002,\n"
    "220104001,南湖街道,220104001001,南湖社区,G01,12,3,unit_leader,1,王芳,13800000003,webhook=https://im.example/h/abc\n"
    "220104001,南湖街道,220104001001,南湖社区,,,,duty_officer,1,赵强,13800000009,\n"
    "220183105,合隆镇,220183105201,陈家店村,三组,,,grid_leader,1,刘洋,13900000011,\n"
    "220183105,合隆镇,220183105201,陈家店村,三组,,,villager_rep,1,孙丽,13900000012,households=15\n";

/* A valid unit-leader row; column tests replace one field of it. */
static const char *const base_row[ROSTER_NCOLS] = {
	"220104001", "南湖街道", "220104001001", "南湖社区", "G01", "12", "3",
	"unit_leader", "1", "王芳", "13800000003", "",
};

/* ---- helpers ------------------------------------------------------------- */

static struct roster *
parse_ok(const char *csv)
{
	struct roster_errors *e = NULL;
	struct roster *r = roster_parse_csv(csv, strlen(csv), &e);

	if (r == NULL) {
		for (size_t i = 0; e != NULL && i < e->n; i++)
			print_error("line %u: %s\n", e->v[i].line, e->v[i].reason);
		roster_errors_free(e);
		fail_msg("roster rejected");
	}
	assert_null(e);
	return r;
}

static struct roster_errors *
parse_bad(const char *csv)
{
	struct roster_errors *e = NULL;
	struct roster *r = roster_parse_csv(csv, strlen(csv), &e);

	if (r != NULL) {
		roster_free(r);
		fail_msg("roster accepted: %s", csv);
	}
	assert_non_null(e);
	return e;
}

static const char *
err_at(const struct roster_errors *e, uint32_t line)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].line == line)
			return e->v[i].reason;
	return NULL;
}

static void
expect_error(const char *csv, uint32_t line, const char *want)
{
	struct roster_errors *e = parse_bad(csv);
	const char *why = err_at(e, line);

	if (why == NULL || strstr(why, want) == NULL) {
		for (size_t i = 0; i < e->n; i++)
			print_error("line %u: %s\n", e->v[i].line, e->v[i].reason);
		roster_errors_free(e);
		fail_msg("no error containing \"%s\" at line %u", want, line);
	}
	roster_errors_free(e);
}

static void
make_row(char *buf, size_t len, int col, const char *value)
{
	size_t o = 0;

	for (int i = 0; i < ROSTER_NCOLS; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "",
		    i == col ? value : base_row[i]);
}

/* One row with column col replaced must fail at line 2 with want. */
static void
expect_col_error(int col, const char *value, const char *want)
{
	char row[6000], csv[6200];

	make_row(row, sizeof(row), col, value);
	snprintf(csv, sizeof(csv), HDR "%s\n", row);
	expect_error(csv, 2, want);
}

static struct roster *
expect_col_ok(int col, const char *value)
{
	char row[6000], csv[6200];

	make_row(row, sizeof(row), col, value);
	snprintf(csv, sizeof(csv), HDR "%s\n", row);
	return parse_ok(csv);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* The export row of one post, names found by walking up the tree. */
static void
row_of(const struct roster *r, const struct roster_post *q,
    struct roster_row *row, char *buf, size_t len)
{
	memset(row, 0, sizeof(*row));
	assert_int_equal(roster_row_split_code(row, r->nodes[q->node].code,
	    buf, len), 0);
	row->community_name = "";
	for (uint32_t i = q->node; i != UINT32_MAX; i = r->nodes[i].parent) {
		if (r->nodes[i].kind == NODE_STREET)
			row->street_name = r->nodes[i].name;
		else if (r->nodes[i].kind == NODE_COMMUNITY)
			row->community_name = r->nodes[i].name;
	}
	row->role = q->role;
	row->rank = q->rank;
	row->name = q->name;
	row->phone = q->phone;
	row->channels = q->channels;
}

/* The whole roster as CSV, NUL-terminated; free() it. */
static char *
export_csv(const struct roster *r, bool public)
{
	struct evbuffer *b = evbuffer_new();
	struct roster_row row;
	char buf[ROSTER_MAX_CODE + 16], *s;
	size_t n;

	roster_csv_header(b);
	for (size_t i = 0; i < r->n_posts; i++) {
		row_of(r, &r->posts[i], &row, buf, sizeof(buf));
		roster_csv_row(b, &row, public);
	}
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static void
assert_same_roster(const struct roster *a, const struct roster *b)
{
	assert_int_equal(a->n_nodes, b->n_nodes);
	assert_int_equal(a->n_posts, b->n_posts);
	for (size_t i = 0; i < a->n_nodes; i++) {
		assert_string_equal(a->nodes[i].code, b->nodes[i].code);
		assert_string_equal(a->nodes[i].name, b->nodes[i].name);
		assert_int_equal(a->nodes[i].parent, b->nodes[i].parent);
		assert_int_equal(a->nodes[i].kind, b->nodes[i].kind);
	}
	for (size_t i = 0; i < a->n_posts; i++) {
		const struct roster_post *p = &a->posts[i], *q = &b->posts[i];

		assert_int_equal(p->node, q->node);
		assert_int_equal(p->role, q->role);
		assert_int_equal(p->rank, q->rank);
		assert_string_equal(p->phone, q->phone);
		assert_string_equal(p->name, q->name);
		assert_string_equal(p->slot, q->slot);
		assert_string_equal(p->channels ? p->channels : "",
		    q->channels ? q->channels : "");
	}
}

/* ---- tests: whole files ------------------------------------------------ */

static void
test_sample(void **state)
{
	struct roster *r = parse_ok(sample_csv);
	static const char *const codes[] = {
		"220104001", "220104001001", "220104001001/G01",
		"220104001001/G01/12", "220104001001/G01/12/3", "220183105",
		"220183105201", "220183105201/三组",
	};
	static const char *const names[] = {
		"南湖街道", "南湖社区", "G01", "12", "3", "合隆镇", "陈家店村", "三组",
	};
	static const uint32_t parents[] = { UINT32_MAX, 0, 1, 2, 3,
	    UINT32_MAX, 5, 6 };
	static const uint8_t kinds[] = { NODE_STREET, NODE_COMMUNITY,
	    NODE_GRID, NODE_BUILDING, NODE_UNIT, NODE_STREET, NODE_COMMUNITY,
	    NODE_GRID };

	(void)state;
	assert_int_equal(r->n_nodes, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(r->nodes[i].code, codes[i]);
		assert_string_equal(r->nodes[i].name, names[i]);
		assert_int_equal(r->nodes[i].parent, parents[i]);
		assert_int_equal(r->nodes[i].kind, kinds[i]);
		assert_int_equal(roster_code_kind(codes[i]), kinds[i]);
	}
	assert_int_equal(r->nodes[0].line, 2);
	assert_int_equal(r->nodes[4].line, 4);
	assert_int_equal(r->n_posts, 6);
	assert_int_equal(r->posts[0].node, 2);
	assert_int_equal(r->posts[0].role, ROLE_GRID_LEADER);
	assert_int_equal(r->posts[0].rank, 1);
	assert_string_equal(r->posts[0].phone, "13800000001");
	assert_string_equal(r->posts[0].name, "张伟");
	assert_string_equal(r->posts[0].slot, "1");
	assert_null(r->posts[0].channels);
	assert_int_equal(r->posts[0].line, 2);
	assert_string_equal(r->posts[2].channels, "webhook=https://im.example/h/abc");
	assert_int_equal(r->posts[2].node, 4);
	assert_int_equal(r->posts[3].node, 1);
	assert_int_equal(r->posts[3].role, ROLE_DUTY_OFFICER);
	assert_string_equal(r->posts[3].slot, "13800000009");
	assert_int_equal(r->posts[5].role, ROLE_VILLAGER_REP);
	assert_string_equal(r->posts[5].slot, "13900000012");
	assert_string_equal(r->posts[5].channels, "households=15");
	assert_int_equal(r->posts[5].line, 7);
	roster_free(r);
}

static void
test_sample_file(void **state)
{
	struct roster_errors *e = NULL;
	struct roster *r;
	size_t len;
	char *buf = read_file(SRCDIR "/tests/unit/data/roster_sample.csv", &len);

	(void)state;
	r = roster_parse_csv(buf, len, &e);
	assert_non_null(r);
	assert_null(e);
	assert_int_equal(r->n_posts, 6);
	roster_free(r);
	free(buf);
}

static void
test_header(void **state)
{
	struct roster *r;
	struct roster_errors *e = NULL;

	(void)state;
	assert_null(roster_parse_csv("", 0, &e));
	assert_non_null(e);
	assert_int_equal(e->n, 1);
	assert_int_equal(e->v[0].line, 1);
	assert_string_equal(e->v[0].reason, "missing header");
	roster_errors_free(e);
	expect_error("\n\r\n\n", 1, "missing header");
	expect_error(HDR, 2, "no rows");
	expect_error(HDR "\n\n", 2, "no rows");
	expect_error("\xef\xbb\xbf" HDR, 2, "no rows");
	expect_error("street_code,street_name\n", 1, "header: expected 12 columns, got 2");
	expect_error("street_code,street_name,community_code,community_name,grid,"
	    "building,unit,role,rank,name,mobile,channels\n", 1,
	    "header: column 11 is \"mobile\", expected \"phone\"");
	expect_error("Street_code,street_name,community_code,community_name,grid,"
	    "building,unit,role,rank,name,phone,channels\n", 1, "column 1");
	expect_error("street_code,street_name,community_code,community_name,grid,"
	    "building,unit,role,rank,name,phone,channels,extra\n", 1,
	    "expected 12 columns, got 13");
	expect_error("\"street_code,street_name\n", 1, "header: street_code: unterminated");
	/* A bad header stops the rows from being judged at all. */
	{
		struct roster_errors *e2 = parse_bad("a,b\n1,2\n");

		assert_int_equal(e2->n, 1);
		roster_errors_free(e2);
	}
	/* BOM, CRLF and quoted header names are all fine. */
	r = parse_ok("\xef\xbb\xbf\"street_code\",street_name,community_code,"
	    "community_name,grid,building,unit,role,rank,name,phone,channels\r\n"
	    "220104001,南湖街道,220104001001,南湖社区,,,,duty_officer,,赵强,13800000009,\r\n");
	assert_int_equal(r->n_posts, 1);
	assert_int_equal(r->posts[0].rank, 1);
	assert_string_equal(r->nodes[0].name, "南湖街道");
	roster_free(r);
	/* A last line without a newline still counts. */
	r = parse_ok(HDR "220104001,南湖街道,,,,,,duty_officer,1,赵强,13800000009,");
	assert_int_equal(r->n_posts, 1);
	assert_int_equal(r->n_nodes, 1);
	roster_free(r);
}

static void
test_lines(void **state)
{
	struct roster_errors *e;

	(void)state;
	/* Empty lines are skipped but counted in line numbers. */
	e = parse_bad(HDR "\n220104001,南湖街道,,,,,,duty_officer,1,赵强,13800000009,\n"
	    "\r\n220104001,南湖街道,,,,,,duty_officer,3,赵强,13800000009,\n");
	assert_int_equal(e->n, 1);
	assert_int_equal(e->v[0].line, 5);
	assert_non_null(strstr(e->v[0].reason, "rank: must be 1 or 2, got \"3\""));
	roster_errors_free(e);
}

static void
test_csv_quoting(void **state)
{
	struct roster *r;
	char csv[9000], longrow[4200];

	(void)state;
	r = parse_ok(HDR "220104001,\"南湖,街道\",220104001001,\"南湖\"\"社区\"\"\",,,,"
	    "duty_officer,1,\"赵 强\",\"138 0000 0009\",\"\"\n");
	assert_string_equal(r->nodes[0].name, "南湖,街道");
	assert_string_equal(r->nodes[1].name, "南湖\"社区\"");
	assert_string_equal(r->posts[0].name, "赵 强");
	assert_string_equal(r->posts[0].phone, "13800000009");
	roster_free(r);
	expect_error(HDR "220104001,\"南湖街道,,,,,,,,,,\n", 2,
	    "street_name: unterminated quoted field");
	expect_error(HDR "220104001,\"南湖\"街道,,,,,,,,,,\n", 2,
	    "street_name: text after a closing quote");
	expect_error(HDR "220104001,南\"湖,,,,,,,,,,\n", 2,
	    "street_name: a quote inside an unquoted field");
	expect_error(HDR "220104001,南湖街道,,,,,,duty_officer,1,赵强,13800000009\n", 2,
	    "expected 12 columns, got 11");
	expect_error(HDR "220104001,南湖街道,,,,,,duty_officer,1,赵强,13800000009,,\n", 2,
	    "expected 12 columns, got 13");
	expect_error(HDR "x\n", 2, "expected 12 columns, got 1");
	{
		/* A NUL byte cannot hide the rest of a field. */
		static const char nul[] = HDR "220104001,南湖街道,,,,,,"
		    "duty_officer,1\0x,赵强,13800000009,\n";
		struct roster_errors *e = NULL;

		assert_null(roster_parse_csv(nul, sizeof(nul) - 1, &e));
		assert_int_equal(e->n, 1);
		assert_string_equal(e->v[0].reason, "rank: contains a NUL byte");
		roster_errors_free(e);
	}
	memset(longrow, 'a', 4097);
	longrow[4097] = '\0';
	snprintf(csv, sizeof(csv), HDR "%s\n", longrow);
	expect_error(csv, 2, "line is longer than 4096 bytes");
}

/* ---- tests: each column -------------------------------------------------- */

static void
test_col_codes(void **state)
{
	struct roster *r;

	(void)state;
	expect_col_error(COL_STREET_CODE, "", "street_code: must be 9 digits, got \"\"");
	expect_col_error(COL_STREET_CODE, "22010400", "street_code: must be 9 digits, got \"22010400\"");
	expect_col_error(COL_STREET_CODE, "2201040011", "street_code: must be 9 digits");
	expect_col_error(COL_STREET_CODE, "22010400a", "street_code: must be 9 digits");
	expect_col_error(COL_STREET_CODE, " 220104001", "street_code: must be 9 digits");
	expect_col_error(COL_COMMUNITY_CODE, "22010400100", "community_code: must be 12 digits, got \"22010400100\"");
	expect_col_error(COL_COMMUNITY_CODE, "22010400100x", "community_code: must be 12 digits");
	expect_col_error(COL_COMMUNITY_CODE, "220104002001",
	    "community_code: community_code 220104002001 does not belong to street 220104001");
	/* No community: only a street duty officer, without a community name. */
	expect_error(HDR "220104001,南湖街道,,南湖社区,,,,duty_officer,1,赵强,13800000009,\n",
	    2, "community_name: given without a community_code");
	expect_error(HDR "220104001,南湖街道,,,G01,,,grid_leader,1,赵强,13800000009,\n",
	    2, "grid: requires a community_code");
	r = parse_ok(HDR "220104001,南湖街道,,,,,,duty_officer,1,赵强,13800000009,\n");
	assert_int_equal(r->nodes[r->posts[0].node].kind, NODE_STREET);
	roster_free(r);
}

static void
test_col_names(void **state)
{
	struct roster *r;
	char big[80];

	(void)state;
	expect_col_error(COL_STREET_NAME, "", "street_name: required");
	expect_col_error(COL_STREET_NAME, "   ", "street_name: required");
	expect_col_error(COL_STREET_NAME, "\xe3\x80\x80", "street_name: required");
	expect_col_error(COL_COMMUNITY_NAME, "", "community_name: required");
	expect_col_error(COL_NAME, "", "name: required");
	expect_col_error(COL_NAME, "王\x01芳", "name: contains a control character");
	expect_col_error(COL_NAME, "王\x7f芳", "name: contains a control character");
	expect_col_error(COL_NAME, "王\xe2\x80\xae芳", "name: contains a control character");
	expect_col_error(COL_NAME, "王\xff芳", "name: is not valid UTF-8");
	expect_col_error(COL_NAME, "\xc0\xaf", "name: is not valid UTF-8");
	expect_col_error(COL_NAME, "\xed\xa0\x80", "name: is not valid UTF-8");
	expect_col_error(COL_COMMUNITY_NAME, "南\xe6\xb9", "community_name: is not valid UTF-8");
	memset(big, 'x', 65);
	big[65] = '\0';
	expect_col_error(COL_NAME, big, "name: longer than 64 bytes");
	expect_col_error(COL_STREET_NAME, big, "street_name: longer than 64 bytes");
	big[64] = '\0';
	r = expect_col_ok(COL_NAME, big);
	roster_free(r);
	/* Names are trimmed of spaces and ideographic spaces. */
	r = expect_col_ok(COL_NAME, " \xe3\x80\x80王芳 ");
	assert_string_equal(r->posts[0].name, "王芳");
	roster_free(r);
	r = expect_col_ok(COL_COMMUNITY_NAME, "  南湖社区");
	assert_string_equal(r->nodes[1].name, "南湖社区");
	roster_free(r);
}

static void
test_col_labels(void **state)
{
	struct roster *r;

	(void)state;
	expect_col_error(COL_GRID, "G/01", "grid: must not contain '/'");
	expect_col_error(COL_GRID, " G01", "grid: has leading or trailing spaces");
	expect_col_error(COL_BUILDING, "12 ", "building: has leading or trailing spaces");
	expect_col_error(COL_UNIT, "3\t", "unit: contains a control character");
	expect_col_error(COL_UNIT, "\xfe", "unit: is not valid UTF-8");
	expect_col_error(COL_BUILDING, "123456789012345678901234567890123",
	    "building: longer than 32 bytes");
	expect_col_error(COL_GRID, "", "building: requires a grid");
	expect_error(HDR "220104001,南湖街道,220104001001,南湖社区,G01,,3,unit_leader,1,王芳,13800000003,\n",
	    2, "unit: requires a building");
	r = expect_col_ok(COL_BUILDING, "12345678901234567890123456789012");
	roster_free(r);
	r = expect_col_ok(COL_GRID, "第三网格");
	assert_string_equal(r->nodes[2].code, "220104001001/第三网格");
	assert_string_equal(r->nodes[4].code, "220104001001/第三网格/12/3");
	assert_string_equal(r->nodes[4].name, "3");
	roster_free(r);
}

static void
test_col_role_rank(void **state)
{
	struct roster *r;

	(void)state;
	expect_col_error(COL_ROLE, "", "role: required");
	expect_col_error(COL_ROLE, "captain", "role: unknown role \"captain\" (valid: "
	    "grid_leader, building_leader, unit_leader, villager_rep, duty_officer)");
	expect_col_error(COL_ROLE, "Unit_leader", "role: unknown role");
	expect_col_error(COL_ROLE, "grid_leader",
	    "role: grid_leader cannot be held at a unit (allowed there: unit_leader)");
	expect_col_error(COL_ROLE, "duty_officer", "role: duty_officer cannot be held at a unit");
	expect_col_error(COL_RANK, "3", "rank: must be 1 or 2, got \"3\"");
	expect_col_error(COL_RANK, "0", "rank: must be 1 or 2, got \"0\"");
	expect_col_error(COL_RANK, "01", "rank: must be 1 or 2");
	expect_col_error(COL_RANK, "A", "rank: must be 1 or 2, got \"A\"");
	r = expect_col_ok(COL_RANK, "");
	assert_int_equal(r->posts[0].rank, 1);
	roster_free(r);
	r = expect_col_ok(COL_RANK, "2");
	assert_int_equal(r->posts[0].rank, 2);
	assert_string_equal(r->posts[0].slot, "2");
	roster_free(r);
	/* Each level with a role it must not hold. */
	expect_error(HDR "220104001,南湖街道,,,,,,grid_leader,1,赵强,13800000009,\n", 2,
	    "role: grid_leader cannot be held at a street (allowed there: duty_officer)");
	expect_error(HDR "220104001,南湖街道,220104001001,南湖社区,,,,unit_leader,1,赵强,13800000009,\n",
	    2, "role: unit_leader cannot be held at a community (allowed there: duty_officer)");
	expect_error(HDR "220104001,南湖街道,220104001001,南湖社区,G01,,,duty_officer,1,赵强,13800000009,\n",
	    2, "(allowed there: grid_leader, villager_rep)");
	expect_error(HDR "220104001,南湖街道,220104001001,南湖社区,G01,12,,villager_rep,1,赵强,13800000009,\n",
	    2, "role: villager_rep cannot be held at a building (allowed there: building_leader)");
}

static void
test_col_phone(void **state)
{
	struct roster_errors *e;
	struct roster *r;
	char row[600], csv[800];

	(void)state;
	expect_col_error(COL_PHONE, "", "phone: required");
	expect_col_error(COL_PHONE, "12800000003",
	    "phone: not a mainland mobile number (11 digits starting 13-19)");
	r = expect_col_ok(COL_PHONE, "+86 138-0000-0003");
	assert_string_equal(r->posts[0].phone, "13800000003");
	roster_free(r);
	/* The number is never echoed back in an error. */
	make_row(row, sizeof(row), COL_PHONE, "1380000000399");
	snprintf(csv, sizeof(csv), HDR "%s\n", row);
	e = parse_bad(csv);
	assert_int_equal(e->n, 1);
	assert_null(strstr(e->v[0].reason, "13800000"));
	assert_null(strstr(e->v[0].reason, "0399"));
	roster_errors_free(e);
}

static void
test_col_channels(void **state)
{
	struct roster *r;
	char big[600];

	(void)state;
	r = expect_col_ok(COL_CHANNELS, " webhook = https://a.example/x?k=v ; households=015 ;");
	assert_string_equal(r->posts[0].channels, "webhook=https://a.example/x?k=v;households=15");
	roster_free(r);
	r = expect_col_ok(COL_CHANNELS, "dingtalk=https://oapi.dingtalk.com/robot/send?access_token=x;"
	    "wecom=https://qyapi.weixin.qq.com/x;feishu=http://f.example/h;households=100000");
	assert_non_null(strstr(r->posts[0].channels, "households=100000"));
	roster_free(r);
	r = expect_col_ok(COL_CHANNELS, " ; ");
	assert_null(r->posts[0].channels);
	roster_free(r);
	expect_col_error(COL_CHANNELS, "sms=1", "channels: unknown key \"sms\" (valid: webhook");
	expect_col_error(COL_CHANNELS, "webhook", "channels: \"webhook\" is not key=value");
	expect_col_error(COL_CHANNELS, "webhook=https://a/x;webhook=https://b/y",
	    "channels: duplicate key \"webhook\"");
	expect_col_error(COL_CHANNELS, "webhook=ftp://a/x",
	    "channels: webhook must be an http:// or https:// URL");
	expect_col_error(COL_CHANNELS, "webhook=https://", "channels: webhook must be an http://");
	expect_col_error(COL_CHANNELS, "webhook=", "channels: webhook must be an http://");
	expect_col_error(COL_CHANNELS, "feishu=https://a/b c", "channels: feishu URL contains a space");
	expect_col_error(COL_CHANNELS, "households=0", "households must be a positive integer up to 100000");
	expect_col_error(COL_CHANNELS, "households=100001", "got 100001");
	expect_col_error(COL_CHANNELS, "households=-3", "got \"-3\"");
	expect_col_error(COL_CHANNELS, "households=", "households must be a positive");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "webhook=https://", 16);
	expect_col_error(COL_CHANNELS, big, "channels: longer than 512 bytes");
	/* A secret URL never shows in an error. */
	{
		char row[700], csv[900];
		struct roster_errors *e;

		make_row(row, sizeof(row), COL_CHANNELS, "webhook=https://h/SECRET x");
		snprintf(csv, sizeof(csv), HDR "%s\n", row);
		e = parse_bad(csv);
		assert_null(strstr(e->v[0].reason, "SECRET"));
		roster_errors_free(e);
	}
}

static void
test_first_problem(void **state)
{
	(void)state;
	/* Several problems: the first column's is reported, one per row. */
	expect_error(HDR "2201,南湖街道,220104001001,南湖社区,G01,12,3,unit_leader,9,王芳,1,\n",
	    2, "street_code:");
	expect_error(HDR "220104001,南湖街道,220104001001,南湖社区,G01,12,3,unit_leader,9,王芳,1,\n",
	    2, "rank:");
}

/* Rows for 2 communities x 6 grids x 10 buildings x 8 units; free() it. */
static char *
gen_rows(bool reverse, size_t *nrows)
{
	size_t cap = 1 << 20, o = 0, n = 0;
	char *s = malloc(cap), line[256];
	char **lines = calloc(2000, sizeof(*lines));

	for (int c = 1; c <= 2; c++)
		for (int g = 1; g <= 6; g++)
			for (int b = 1; b <= 10; b++)
				for (int u = 0; u <= 8; u++) {
					if (u == 0)
						snprintf(line, sizeof(line), "220104001,南湖街道,"
						    "22010400100%d,社区%d,G%02d,%d,,building_leader,1,"
						    "张伟,1380%07zu,\n", c, c, g, b, n);
					else
						snprintf(line, sizeof(line), "220104001,南湖街道,"
						    "22010400100%d,社区%d,G%02d,%d,%d,unit_leader,1,"
						    "王芳,1380%07zu,households=%d\n", c, c, g, b, u, n, u);
					lines[n++] = strdup(line);
				}
	o += (size_t)snprintf(s, cap, "%s", HDR);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s", lines[reverse ? n - 1 - i : i]);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	*nrows = n;
	return s;
}

static void
test_large(void **state)
{
	struct roster_parser *p;
	struct roster_errors *e;
	struct roster *a, *b, *c;
	size_t n;
	char *csv = gen_rows(false, &n), *rev, *dup;

	(void)state;
	assert_int_equal(n, 1080);
	a = parse_ok(csv);	/* reserves up front */
	assert_int_equal(a->n_posts, n);
	assert_int_equal(a->n_nodes, 1 + 2 + 12 + 120 + 960);
	p = roster_parser_new();	/* grows step by step */
	for (char *s = csv, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1)
		roster_parser_csv_line(p, s, (size_t)(nl - s));
	b = roster_parser_finish(p, &e);
	assert_non_null(b);
	assert_same_roster(a, b);
	/* Children before parents in the input: parents still come first. */
	rev = gen_rows(true, &n);
	c = parse_ok(rev);
	assert_int_equal(c->n_nodes, a->n_nodes);
	for (size_t i = 0; i < c->n_nodes; i++)
		if (c->nodes[i].parent != UINT32_MAX)
			assert_true(c->nodes[i].parent < i);
	assert_string_equal(c->nodes[0].code, "220104001");
	assert_string_equal(c->nodes[4].code, "220104001002/G06/10/8");
	/* A duplicate far from the original is still found. */
	dup = malloc(strlen(csv) + 200);
	sprintf(dup, "%s%s", csv, "220104001,南湖街道,220104001001,社区1,G01,1,3,"
	    "unit_leader,1,李四,13900000000,\n");
	expect_error(dup, (uint32_t)n + 2, "duplicate post: unit_leader rank 1 of "
	    "220104001001/G01/1/3 is already held on line 5");
	free(dup);
	free(rev);
	free(csv);
	roster_free(a);
	roster_free(b);
	roster_free(c);
}

/* ---- tests: rules across rows ------------------------------------------- */

static void
test_duplicates(void **state)
{
	struct roster *r;
	struct roster_errors *e;

	(void)state;
	expect_error(HDR
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,,李娜,13800000002,\n",
	    3, "duplicate post: grid_leader rank 1 of 220104001001/G01 is already held on line 2");
	/* A and B roles by different people are fine; the same person is not. */
	r = parse_ok(HDR
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,2,李娜,13800000002,\n");
	assert_string_equal(r->posts[1].slot, "2");
	roster_free(r);
	expect_error(HDR
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,,building_leader,2,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,,building_leader,1,张伟,+8613800000001,\n",
	    3, "phone: the same person already holds rank 2 of this post on line 2");
	/* Villager representatives: several per grid, one per person. */
	r = parse_ok(HDR
	    "220183105,合隆镇,220183105201,陈家店村,三组,,,villager_rep,1,孙丽,13900000012,\n"
	    "220183105,合隆镇,220183105201,陈家店村,三组,,,villager_rep,1,周杰,13900000013,\n"
	    "220183105,合隆镇,,,,,,duty_officer,1,赵强,13900000019,\n"
	    "220183105,合隆镇,,,,,,duty_officer,1,钱多,13900000018,\n");
	assert_int_equal(r->n_posts, 4);
	roster_free(r);
	e = parse_bad(HDR
	    "220183105,合隆镇,220183105201,陈家店村,三组,,,villager_rep,1,孙丽,13900000012,\n"
	    "220183105,合隆镇,220183105201,陈家店村,三组,,,villager_rep,2,孙丽,139-0000-0012,\n");
	assert_int_equal(e->n, 1);
	assert_int_equal(e->v[0].line, 3);
	assert_string_equal(e->v[0].reason, "duplicate post: villager_rep 139****0012 of "
	    "220183105201/三组 is already listed on line 2");
	roster_errors_free(e);
	/* Invalid rows do not occupy posts. */
	r = parse_ok(HDR "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n");
	roster_free(r);
}

static void
test_one_phone_many_posts(void **state)
{
	struct roster *r;

	(void)state;
	r = parse_ok(HDR
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,,building_leader,1,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,3,unit_leader,1,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,villager_rep,1,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G02,,,grid_leader,2,张伟,13800000001,\n");
	assert_int_equal(r->n_posts, 5);
	roster_free(r);
}

static void
test_conflicting_names(void **state)
{
	(void)state;
	expect_error(HDR
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n"
	    "\n"
	    "220104001,南关街道,220104001002,东风社区,G01,,,grid_leader,1,李娜,13800000002,\n",
	    4, "street_name: \"南关街道\" differs from \"南湖街道\" given for 220104001 on line 2");
	expect_error(HDR
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,湖南社区,G02,,,grid_leader,1,李娜,13800000002,\n",
	    3, "community_name: \"湖南社区\" differs from \"南湖社区\" given for 220104001001 on line 2");
}

static void
test_node_order(void **state)
{
	struct roster *r;

	(void)state;
	/* Deepest first: the ancestors are still created before it. */
	r = parse_ok(HDR
	    "220104001,南湖街道,220104001001,南湖社区,G02,5,1,unit_leader,1,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G02,,,grid_leader,1,李娜,13800000002,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,5,,building_leader,1,王芳,13800000003,\n");
	assert_int_equal(r->n_nodes, 7);
	for (size_t i = 0; i < r->n_nodes; i++) {
		if (r->nodes[i].parent != UINT32_MAX) {
			assert_true(r->nodes[i].parent < i);
			assert_true(roster_code_covers(r->nodes[r->nodes[i].parent].code,
			    r->nodes[i].code));
		}
	}
	assert_string_equal(r->nodes[5].code, "220104001001/G01");
	assert_int_equal(r->nodes[5].line, 4);
	assert_string_equal(r->nodes[6].code, "220104001001/G01/5");
	assert_int_equal(r->posts[1].node, 2);
	roster_free(r);
}

static void
test_many_errors(void **state)
{
	struct roster_parser *p = roster_parser_new();
	struct roster_errors *e;
	const char hdr[] = HDR;
	char line[256];
	size_t nbad = ROSTER_MAX_ERRORS + 7;

	(void)state;
	roster_parser_csv_line(p, hdr, sizeof(hdr) - 2);
	for (size_t i = 0; i < nbad; i++) {
		int n = snprintf(line, sizeof(line), "220104001,南湖街道,,,,,,"
		    "duty_officer,%s,赵强,138%08zu,", i % 2 ? "x" : "1", i);

		roster_parser_csv_line(p, line, (size_t)n);
	}
	assert_null(roster_parser_finish(p, &e));
	assert_non_null(e);
	/* Only the odd ones were bad. */
	assert_int_equal(e->n + e->n_more, nbad / 2);
	p = roster_parser_new();
	roster_errors_free(e);
	roster_parser_csv_line(p, hdr, sizeof(hdr) - 1);	/* with its \n */
	for (size_t i = 0; i < nbad; i++) {
		int n = snprintf(line, sizeof(line), "220104001,南湖街道,,,,,,"
		    "duty_officer,x,赵强,138%08zu,\r", i);

		roster_parser_csv_line(p, line, (size_t)n);
	}
	assert_null(roster_parser_finish(p, &e));
	assert_non_null(e);
	/* The header line with its "\n" was a wrong header: rows ignored. */
	assert_int_equal(e->n, 1);
	roster_errors_free(e);

	p = roster_parser_new();
	roster_parser_csv_line(p, hdr, sizeof(hdr) - 2);
	for (size_t i = 0; i < nbad; i++) {
		int n = snprintf(line, sizeof(line), "220104001,南湖街道,,,,,,"
		    "duty_officer,x,赵强,138%08zu,\r", i);

		roster_parser_csv_line(p, line, (size_t)n);
	}
	assert_null(roster_parser_finish(p, &e));
	assert_int_equal(e->n, ROSTER_MAX_ERRORS);
	assert_int_equal(e->n_more, 7);
	assert_int_equal(e->v[0].line, 2);
	assert_int_equal(e->v[ROSTER_MAX_ERRORS - 1].line, ROSTER_MAX_ERRORS + 1);
	assert_string_equal(e->v[42].reason, "rank: must be 1 or 2, got \"x\"");
	roster_errors_free(e);
}

static void
test_fields(void **state)
{
	struct roster_parser *p = roster_parser_new();
	struct roster_errors *e;
	struct roster *r;
	const char *f[ROSTER_NCOLS] = {
		"220104001", "南湖街道", "220104001001", "南湖社区", "G01", NULL,
		NULL, "grid_leader", NULL, "张伟", "+86 13800000001", NULL,
	};

	(void)state;
	roster_parser_fields(p, f, 1);
	f[COL_RANK] = "2";
	f[COL_PHONE] = "13800000002";
	f[COL_CHANNELS] = "wecom=https://q.example/k";
	roster_parser_fields(p, f, 2);
	r = roster_parser_finish(p, &e);
	assert_non_null(r);
	assert_null(e);
	assert_int_equal(r->n_posts, 2);
	assert_int_equal(r->posts[1].line, 2);
	assert_null(r->posts[0].channels);
	assert_string_equal(r->posts[1].channels, "wecom=https://q.example/k");
	roster_free(r);

	p = roster_parser_new();
	roster_parser_fields(p, f, 1);
	f[COL_ROLE] = NULL;
	roster_parser_fields(p, f, 2);
	roster_parser_error(p, 3, "item is not an object (%s)", "array");
	assert_null(roster_parser_finish(p, &e));
	assert_int_equal(e->n, 2);
	assert_int_equal(e->v[0].line, 2);
	assert_string_equal(e->v[0].reason, "role: required (one of grid_leader, "
	    "building_leader, unit_leader, villager_rep, duty_officer)");
	assert_int_equal(e->v[1].line, 3);
	assert_string_equal(e->v[1].reason, "item is not an object (array)");
	roster_errors_free(e);

	p = roster_parser_new();
	assert_null(roster_parser_finish(p, &e));
	assert_int_equal(e->n, 1);
	roster_errors_free(e);
}

/* ---- tests: phones and codes --------------------------------------------- */

static void
test_phone_normalize(void **state)
{
	static const char *const good[] = {
		"13800000001", "+8613800000001", "+86 138 0000 0001",
		"0086-138-0000-0001", "008613800000001", "8613800000001",
		"138-0000-0001", " 138 0000 0001 ", "86 138 0000 0001",
	};
	static const char *const bad[] = {
		"", "12800000001", "10800000001", "1380000000", "138000000012",
		"+8512800000001", "+85213800000001", "abc", "1380000000a",
		"+86+8613800000001", "(+86)13800000001", "86138000000",
		"+861380000000", "13800000001\n", "０１３８００００００１",
		"0013800000001", "+86 138 0000 0001 2",
	};
	char out[12];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(out, 'x', sizeof(out));
		if (phone_normalize(good[i], out) != 0)
			fail_msg("rejected \"%s\"", good[i]);
		assert_string_equal(out, "13800000001");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (phone_normalize(bad[i], out) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(phone_normalize("19912345678", out), 0);
	assert_string_equal(out, "19912345678");
	/* An 11-digit number that itself starts 86 is left alone. */
	assert_int_equal(phone_normalize("86000000000", out), -1);
}

static void
test_phone_mask(void **state)
{
	char out[12];

	(void)state;
	phone_mask("13800000002", out);
	assert_string_equal(out, "138****0002");
	phone_mask("123", out);
	assert_string_equal(out, "****");
	phone_mask("", out);
	assert_string_equal(out, "****");
}

/* Where a node counts (its grid) and its community, for any depth. */
static void
test_code_grid_and_community(void **state)
{
	static const char *const cases[][3] = {
		{ "220104001001/G01/12/3", "220104001001/G01", "220104001001" },
		{ "220104001001/G01/12", "220104001001/G01", "220104001001" },
		{ "220104001001/G01", "220104001001/G01", "220104001001" },
		{ "220183105201/三组", "220183105201/三组", "220183105201" },
		{ "220104001001", "220104001001", "220104001001" },
		{ "220104001", "220104001", "220104001" },
	};
	char out[ROSTER_MAX_CODE + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		roster_code_grid(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][1]);
		roster_code_community(cases[i][0], out, sizeof(out));
		assert_string_equal(out, cases[i][2]);
	}
}

static void
test_code_kind(void **state)
{
	(void)state;
	assert_int_equal(roster_code_kind("220104001"), NODE_STREET);
	assert_int_equal(roster_code_kind("220104001001"), NODE_COMMUNITY);
	assert_int_equal(roster_code_kind("220104001001/G01"), NODE_GRID);
	assert_int_equal(roster_code_kind("220104001001/G01/12"), NODE_BUILDING);
	assert_int_equal(roster_code_kind("220104001001/G01/12/3"), NODE_UNIT);
	assert_int_equal(roster_code_kind("220183105201/三组"), NODE_GRID);
	assert_int_equal(roster_code_kind(""), -1);
	assert_int_equal(roster_code_kind("22010400"), -1);
	assert_int_equal(roster_code_kind("2201040011"), -1);
	assert_int_equal(roster_code_kind("22010400100a"), -1);
	assert_int_equal(roster_code_kind("220104001/G01"), -1);
	assert_int_equal(roster_code_kind("220104001001/"), -1);
	assert_int_equal(roster_code_kind("220104001001G01"), -1);
	assert_int_equal(roster_code_kind("220104001001//12"), -1);
	assert_int_equal(roster_code_kind("220104001001/G01/12/3/1"), -1);
	assert_int_equal(roster_code_kind("220104001001/ G01"), -1);
	assert_int_equal(roster_code_kind("220104001001/G\x01"), -1);
	assert_int_equal(roster_code_kind("220104001001/G\xff"), -1);
	assert_int_equal(roster_code_kind("220104001001/\xc2\x85"), -1);
	assert_int_equal(roster_code_kind("220104001001/123456789012345678901234567890123"), -1);
	assert_int_equal(roster_code_kind("220104001001/12345678901234567890123456789012"), NODE_GRID);
}

static void
test_village(void **state)
{
	(void)state;
	assert_true(roster_code_is_village("220183105201"));
	assert_true(roster_code_is_village("220183105200"));
	assert_true(roster_code_is_village("220183105399"));
	assert_false(roster_code_is_village("220183105199"));
	assert_false(roster_code_is_village("220183105400"));
	assert_false(roster_code_is_village("220104001001"));
	assert_false(roster_code_is_village("220183105"));
	assert_false(roster_code_is_village("22018310520"));
	assert_false(roster_code_is_village("2201831052011"));
	assert_false(roster_code_is_village("2201831a5201"));
	assert_false(roster_code_is_village("220183105201/三组"));
}

static void
test_covers(void **state)
{
	(void)state;
	assert_true(roster_code_covers("220104001", "220104001"));
	assert_true(roster_code_covers("220104001", "220104001001"));
	assert_true(roster_code_covers("220104001", "220104001999/G01/12/3"));
	assert_false(roster_code_covers("220104001", "220104002001"));
	assert_false(roster_code_covers("220104001", "2201040010"));
	assert_false(roster_code_covers("220104001", "22010400100"));
	assert_false(roster_code_covers("220104001", "2201040010011"));
	assert_false(roster_code_covers("220104001", "22010400100a"));
	assert_false(roster_code_covers("220104001", "220104001001G01"));
	assert_false(roster_code_covers("220104001", "22010400"));
	assert_true(roster_code_covers("220104001001", "220104001001"));
	assert_true(roster_code_covers("220104001001", "220104001001/G01/12"));
	assert_false(roster_code_covers("220104001001", "220104001002"));
	assert_false(roster_code_covers("220104001001", "2201040010011"));
	assert_false(roster_code_covers("220104001001", "220104001"));
	assert_true(roster_code_covers("220104001001/G01", "220104001001/G01"));
	assert_true(roster_code_covers("220104001001/G01", "220104001001/G01/12/3"));
	assert_false(roster_code_covers("220104001001/G01", "220104001001/G010"));
	assert_false(roster_code_covers("220104001001/G01", "220104001001/G02/1"));
	assert_false(roster_code_covers("220104001001/G01", "220104001001"));
	assert_true(roster_code_covers("220104001001/G01/1", "220104001001/G01/1/2"));
	assert_false(roster_code_covers("220104001001/G01/1", "220104001001/G01/12"));
	assert_true(roster_code_covers("220104001001/G01/1/2", "220104001001/G01/1/2"));
	assert_false(roster_code_covers("220104001001/G01/1/2", "220104001001/G01/1/20"));
	assert_false(roster_code_covers("", "220104001"));
	assert_false(roster_code_covers("220104001001/G01", ""));
}

static void
test_names_and_rules(void **state)
{
	static const unsigned allowed[ROLE_COUNT] = {
		[ROLE_GRID_LEADER] = 1u << NODE_GRID,
		[ROLE_BUILDING_LEADER] = 1u << NODE_BUILDING,
		[ROLE_UNIT_LEADER] = 1u << NODE_UNIT,
		[ROLE_VILLAGER_REP] = 1u << NODE_GRID,
		[ROLE_DUTY_OFFICER] = 1u << NODE_STREET | 1u << NODE_COMMUNITY,
	};

	(void)state;
	for (int r = 0; r < ROLE_COUNT; r++) {
		assert_int_equal(roster_role_parse(roster_role_name(r)), r);
		for (int k = 0; k < NODE_KIND_COUNT; k++)
			assert_int_equal(roster_role_allowed(r, k),
			    (allowed[r] >> k) & 1);
	}
	assert_false(roster_role_allowed(ROLE_COUNT, NODE_GRID));
	assert_int_equal(roster_role_parse("nobody"), -1);
	assert_int_equal(roster_role_parse(""), -1);
	assert_string_equal(roster_role_name(ROLE_GRID_LEADER), "grid_leader");
	assert_string_equal(roster_role_label(ROLE_GRID_LEADER), "网格长");
	assert_string_equal(roster_role_label(ROLE_BUILDING_LEADER), "楼栋长");
	assert_string_equal(roster_role_label(ROLE_UNIT_LEADER), "单元长");
	assert_string_equal(roster_role_label(ROLE_VILLAGER_REP), "村民代表");
	assert_string_equal(roster_role_label(ROLE_DUTY_OFFICER), "值班员");
	assert_string_equal(roster_kind_name(NODE_STREET), "street");
	assert_string_equal(roster_kind_name(NODE_COMMUNITY), "community");
	assert_string_equal(roster_kind_name(NODE_GRID), "grid");
	assert_string_equal(roster_kind_name(NODE_BUILDING), "building");
	assert_string_equal(roster_kind_name(NODE_UNIT), "unit");
}

/* ---- tests: export ----------------------------------------------------- */

static void
test_split_code(void **state)
{
	struct roster_row row;
	char buf[ROSTER_MAX_CODE + 16];
	const char *unit = "220104001001/G01/12/3";

	(void)state;
	assert_int_equal(roster_row_split_code(&row, "220104001", buf, sizeof(buf)), 0);
	assert_string_equal(row.street_code, "220104001");
	assert_string_equal(row.community_code, "");
	assert_string_equal(row.grid, "");
	assert_int_equal(roster_row_split_code(&row, "220104001001", buf, sizeof(buf)), 0);
	assert_string_equal(row.street_code, "220104001");
	assert_string_equal(row.community_code, "220104001001");
	assert_string_equal(row.building, "");
	assert_int_equal(roster_row_split_code(&row, unit, buf, strlen(unit) + 11), 0);
	assert_string_equal(row.street_code, "220104001");
	assert_string_equal(row.community_code, "220104001001");
	assert_string_equal(row.grid, "G01");
	assert_string_equal(row.building, "12");
	assert_string_equal(row.unit, "3");
	assert_int_equal(roster_row_split_code(&row, "220183105201/三组/A座",
	    buf, sizeof(buf)), 0);
	assert_string_equal(row.grid, "三组");
	assert_string_equal(row.building, "A座");
	assert_string_equal(row.unit, "");
	assert_int_equal(roster_row_split_code(&row, unit, buf, strlen(unit) + 10), -1);
	assert_int_equal(roster_row_split_code(&row, "2201040", buf, sizeof(buf)), -1);
	assert_int_equal(roster_row_split_code(&row, "220104001001/", buf, sizeof(buf)), -1);
}

static void
test_export_csv(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct roster_row row = {
		.street_code = "220104001", .street_name = "南湖,街道",
		.community_code = "220104001001", .community_name = "南湖\"社区\"",
		.grid = "G01", .building = "12", .unit = NULL,
		.role = ROLE_BUILDING_LEADER, .rank = 2, .name = "李\n娜",
		.phone = "13800000002", .channels = "webhook=https://x/y;households=3",
	};
	const char want[] = HDR
	    "220104001,\"南湖,街道\",220104001001,\"南湖\"\"社区\"\"\",G01,12,,"
	    "building_leader,2,\"李\n娜\",13800000002,webhook=https://x/y;households=3\n"
	    "220104001,\"南湖,街道\",220104001001,\"南湖\"\"社区\"\"\",G01,12,,"
	    "building_leader,2,\"李\n娜\",138****0002,\n";
	char *s;
	size_t n;

	(void)state;
	roster_csv_header(b);
	roster_csv_row(b, &row, false);
	roster_csv_row(b, &row, true);
	n = evbuffer_get_length(b);
	s = (char *)evbuffer_pullup(b, -1);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(s, want, n);
	evbuffer_free(b);
}

static void
test_round_trip(void **state)
{
	struct roster *a, *b;
	char *csv, *csv2;
	char src[4096];

	(void)state;
	snprintf(src, sizeof(src), "%s%s", sample_csv,
	    "220104001,南湖街道,220104001002,\"东风,\"\"二\"\"社区\",\"A,1\",\"楼\"\"1\",2,unit_leader,2,"
	    "\" 欧阳, 娜娜 \",+86 139 0000 0001,\" households = 7 ; feishu=https://f/h?a=1,b \"\n"
	    "220104001,南湖街道,220104001002,\"东风,\"\"二\"\"社区\",,,,duty_officer,2,赵强,13800000009,\n");
	a = parse_ok(src);
	csv = export_csv(a, false);
	b = parse_ok(csv);
	assert_same_roster(a, b);
	csv2 = export_csv(b, false);
	assert_string_equal(csv, csv2);
	assert_non_null(strstr(csv, "\"欧阳, 娜娜\""));
	assert_non_null(strstr(csv, "\"households=7;feishu=https://f/h?a=1,b\""));
	free(csv2);
	free(csv);
	/* The public export parses too (masked phones are not numbers). */
	csv = export_csv(a, true);
	assert_null(strstr(csv, "13800000001"));
	assert_non_null(strstr(csv, "138****0001"));
	assert_null(strstr(csv, "https://"));
	assert_null(strstr(csv, "households"));
	{
		struct roster_errors *e = parse_bad(csv);

		assert_int_equal(e->n, a->n_posts);
		assert_non_null(strstr(e->v[0].reason, "phone:"));
		roster_errors_free(e);
	}
	free(csv);
	roster_free(b);
	roster_free(a);
}

static void
test_row_json(void **state)
{
	struct roster_row row = {
		.street_code = "220183105", .street_name = "合隆镇",
		.community_code = "220183105201", .community_name = "陈家店村",
		.grid = "三组", .building = "", .unit = NULL,
		.role = ROLE_VILLAGER_REP, .rank = 1, .name = "孙丽",
		.phone = "13900000012", .channels = "households=15",
	};
	json_t *o;

	(void)state;
	o = roster_row_json(&row, false);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), ROSTER_NCOLS);
	assert_string_equal(json_string_value(json_object_get(o, "role")), "villager_rep");
	assert_true(json_is_integer(json_object_get(o, "rank")));
	assert_int_equal(json_integer_value(json_object_get(o, "rank")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "phone")), "13900000012");
	assert_string_equal(json_string_value(json_object_get(o, "channels")), "households=15");
	assert_string_equal(json_string_value(json_object_get(o, "unit")), "");
	assert_string_equal(json_string_value(json_object_get(o, "grid")), "三组");
	json_decref(o);
	row.channels = NULL;
	o = roster_row_json(&row, false);
	assert_string_equal(json_string_value(json_object_get(o, "channels")), "");
	json_decref(o);
	row.channels = "households=15";
	o = roster_row_json(&row, true);
	assert_string_equal(json_string_value(json_object_get(o, "phone")), "139****0012");
	assert_string_equal(json_string_value(json_object_get(o, "channels")), "");
	json_decref(o);
}

static char *
html_of(const struct roster *r, const char *title)
{
	struct evbuffer *b = evbuffer_new();
	struct roster_html *h = roster_html_begin(b, title);
	struct roster_row row;
	char buf[ROSTER_MAX_CODE + 16], *s;
	size_t n;

	assert_non_null(h);
	for (size_t i = 0; i < r->n_posts; i++) {
		row_of(r, &r->posts[i], &row, buf, sizeof(buf));
		roster_html_row(h, &row);
	}
	roster_html_end(h);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static size_t
count(const char *s, const char *what)
{
	size_t n = 0;

	for (; (s = strstr(s, what)) != NULL; s += strlen(what))
		n++;
	return n;
}

static void
test_html(void **state)
{
	struct roster *r;
	char *html, src[4096];

	(void)state;
	snprintf(src, sizeof(src), HDR
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,,building_leader,1,李娜,13800000002,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,3,unit_leader,1,王芳,13800000003,webhook=https://im.example/h/abc\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,4,unit_leader,2,"
	    "\"<script>alert('x')</script>&\",13800000004,\n"
	    "220104001,南湖街道,220104001001,南湖社区,,,,duty_officer,1,赵强,13800000009,\n"
	    "220183105,合隆镇,220183105201,陈家店村,三组,,,grid_leader,1,刘洋,13900000011,\n"
	    "220183105,合隆镇,220183105201,陈家店村,三组,,,villager_rep,1,孙丽,13900000012,households=15\n");
	r = parse_ok(src);
	html = html_of(r, "南湖街道<三长>公示");
	assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
	assert_non_null(strstr(html, "<title>南湖街道&lt;三长&gt;公示</title>"));
	assert_non_null(strstr(html, "@media print"));
	assert_non_null(strstr(html, "page-break-before"));
	assert_null(strstr(html, "<script>"));
	assert_null(strstr(html, "http"));	/* no external assets, no URLs */
	assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"));
	/* Phones masked, channels nowhere. */
	assert_null(strstr(html, "13800000001"));
	assert_null(strstr(html, "13900000012"));
	assert_null(strstr(html, "im.example"));
	assert_non_null(strstr(html, "138****0001"));
	/* Two communities, each a section; headings per grid and building. */
	assert_int_equal(count(html, "<section class=\"community\">"), 2);
	assert_int_equal(count(html, "</section>"), 2);
	assert_non_null(strstr(html, "<h2>南湖社区<small>南湖街道</small></h2>"));
	assert_non_null(strstr(html, "<h2>陈家店村<small>合隆镇</small></h2>"));
	assert_non_null(strstr(html, "网格：G01</h3>"));
	assert_non_null(strstr(html, "网格：G01 · 楼栋：12号楼</h3>"));
	assert_non_null(strstr(html, "村民小组：三组</h3>"));
	assert_non_null(strstr(html, "社区值班</h3>"));
	assert_non_null(strstr(html, "<td>网格长（A角）</td><td>张伟</td>"));
	assert_non_null(strstr(html, "<td>3单元</td><td>单元长（A角）</td>"));
	assert_non_null(strstr(html, "<td>4单元</td><td>单元长（B角）</td>"));
	assert_non_null(strstr(html, "<td>—</td><td>楼栋长（A角）</td>"));
	assert_non_null(strstr(html, "村民代表（A角）"));
	/* The G01/12 table: opened once, even though unit 3 and 4 differ. */
	assert_int_equal(count(html, "楼栋：12号楼</h3>"), 1);
	assert_int_equal(count(html, "<h3>"), 4);
	assert_int_equal(count(html, "<table>"), count(html, "</table>"));
	assert_true(strstr(html, "</html>\n") != NULL);
	free(html);
	html = html_of(r, NULL);
	assert_non_null(strstr(html, "<title>三长联动公示</title>"));
	free(html);
	roster_free(r);
}

static void
test_html_street(void **state)
{
	struct roster *r;
	char *html;

	(void)state;
	r = parse_ok(HDR "220104001,南湖街道,,,,,,duty_officer,1,赵强,13800000009,\n");
	html = html_of(r, "公示");
	assert_non_null(strstr(html, "<h2>南湖街道</h2>"));
	assert_non_null(strstr(html, "街道值班</h3>"));
	assert_non_null(strstr(html, "<td>值班员（A角）</td><td>赵强</td><td class=\"phone\">138****0009</td>"));
	free(html);
	roster_free(r);
}

int
main(void)
{
	const struct CMUnitTest parse[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_sample_file),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_large),
	};
	const struct CMUnitTest columns[] = {
		cmocka_unit_test(test_col_codes),
		cmocka_unit_test(test_col_names),
		cmocka_unit_test(test_col_labels),
		cmocka_unit_test(test_col_role_rank),
		cmocka_unit_test(test_col_phone),
		cmocka_unit_test(test_col_channels),
		cmocka_unit_test(test_first_problem),
	};
	const struct CMUnitTest rules[] = {
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_one_phone_many_posts),
		cmocka_unit_test(test_conflicting_names),
		cmocka_unit_test(test_node_order),
		cmocka_unit_test(test_names_and_rules),
	};
	const struct CMUnitTest codes[] = {
		cmocka_unit_test(test_phone_normalize),
		cmocka_unit_test(test_phone_mask),
		cmocka_unit_test(test_code_kind),
		cmocka_unit_test(test_code_grid_and_community),
		cmocka_unit_test(test_village),
		cmocka_unit_test(test_covers),
	};
	const struct CMUnitTest export[] = {
		cmocka_unit_test(test_split_code),
		cmocka_unit_test(test_export_csv),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_row_json),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_html_street),
	};
	int fails = 0;

	fails += cmocka_run_group_tests_name("roster_parse", parse, NULL, NULL);
	fails += cmocka_run_group_tests_name("roster_columns", columns, NULL, NULL);
	fails += cmocka_run_group_tests_name("roster_rules", rules, NULL, NULL);
	fails += cmocka_run_group_tests_name("roster_codes", codes, NULL, NULL);
	fails += cmocka_run_group_tests_name("roster_export", export, NULL, NULL);
	return fails != 0;
}
