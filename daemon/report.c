/*
 * report.c - the after-action report rendered: CSV (per grid) and one
 * printable HTML page with inline SVG charts.  Chinese for the people
 * who read it; phones masked on the page, which may be printed and
 * passed around.
 */
#include "report.h"
#include "html.h"
#include "roster.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#define REPORT_BARS_MAX		300	/* grids drawn as bars */
#define REPORT_ROWS_MAX		2000	/* names listed on the page */

static json_int_t
rint_of(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *
rstr_of(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)) ?: "";
}

/* A CSV field, quoted when it needs to be. */
static void
report_csv_field(struct evbuffer *out, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		evbuffer_add(out, s, strlen(s));
		return;
	}
	evbuffer_add(out, "\"", 1);
	for (; *s; s++) {
		if (*s == '"')
			evbuffer_add(out, "\"", 1);
		evbuffer_add(out, s, 1);
	}
	evbuffer_add(out, "\"", 1);
}

void
report_csv(const json_t *doc, struct evbuffer *out)
{
	const json_t *grids = json_object_get(doc, "per_grid"), *g;
	const char *k;

	evbuffer_add_printf(out, "grid,recipients,reached,acked,failed,silent,"
	    "acked_pct\r\n");
	json_object_foreach((json_t *)grids, k, g) {
		json_int_t n = rint_of(g, "recipients");

		report_csv_field(out, k);
		evbuffer_add_printf(out, ",%lld,%lld,%lld,%lld,%lld,%.1f\r\n",
		    (long long)n, (long long)rint_of(g, "reached"),
		    (long long)rint_of(g, "acked"), (long long)rint_of(g,
		    "failed"), (long long)rint_of(g, "silent"), n ? 100.0 *
		    (double)rint_of(g, "acked") / (double)n : 0.0);
	}
}

/* ---- the page --------------------------------------------------------------- */

static const char report_head[] =
    "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<link rel=\"icon\" href=\"data:,\">\n<title>";
static const char report_style[] =
    "</title>\n<style>\n"
    "body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\","
    "\"Microsoft YaHei\",\"PingFang SC\",sans-serif;margin:2em;color:#000}\n"
    "h1{font-size:1.6em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.4em 0 .4em;"
    "border-bottom:2px solid #b00}\n"
    ".drill{display:inline-block;border:2px dashed #1b5e20;color:#1b5e20;"
    "padding:.1em .5em;font-weight:bold}\n"
    "table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid "
    "#777;padding:.25em .6em;text-align:right}th:first-child,"
    "td:first-child{text-align:left}th{background:#f3e6e6}\n"
    "svg{max-width:100%;height:auto}\n"
    "@page{size:A4;margin:15mm}@media print{body{margin:0}"
    "table,svg{break-inside:avoid}}\n"
    "</style>\n</head>\n<body>\n";

static void
report_counts_table(struct evbuffer *out, const json_t *map, const char *what)
{
	const json_t *g;
	const char *k;

	evbuffer_add_printf(out, "<table><tr><th>%s</th><th>人数</th><th>已送达"
	    "</th><th>已回复</th><th>发送失败</th><th>未回复</th><th>回复率</th>"
	    "</tr>\n", what);
	json_object_foreach((json_t *)map, k, g) {
		json_int_t n = rint_of(g, "recipients");

		evbuffer_add(out, "<tr><td>", 8);
		html_escape(out, k);
		evbuffer_add_printf(out, "</td><td>%lld</td><td>%lld</td><td>%lld"
		    "</td><td>%lld</td><td>%lld</td><td>%.0f%%</td></tr>\n",
		    (long long)n, (long long)rint_of(g, "reached"),
		    (long long)rint_of(g, "acked"), (long long)rint_of(g,
		    "failed"), (long long)rint_of(g, "silent"), n ? 100.0 *
		    (double)rint_of(g, "acked") / (double)n : 0.0);
	}
	evbuffer_add(out, "</table>\n", 9);
}

/* A bar per grid: answered (green) and reached but silent (amber). */
static void
report_grid_bars(struct evbuffer *out, const json_t *grids)
{
	size_t n = json_object_size(grids), i = 0, shown;
	const json_t *g;
	const char *k;

	shown = n < REPORT_BARS_MAX ? n : REPORT_BARS_MAX;
	evbuffer_add_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"720\" height=\"%zu\" role=\"img\" aria-label=\"各网格回复率\">\n",
	    shown * 18 + 4);
	json_object_foreach((json_t *)grids, k, g) {
		json_int_t t = rint_of(g, "recipients");
		double a = t ? (double)rint_of(g, "acked") / (double)t : 0;
		double r = t ? (double)rint_of(g, "reached") / (double)t : 0;

		if (i == shown)
			break;
		evbuffer_add_printf(out, "<text x=\"0\" y=\"%zu\" font-size=\"11\">",
		    i * 18 + 14);
		html_escape(out, strchr(k, '/') ? strchr(k, '/') + 1 : k);
		evbuffer_add_printf(out, "</text><rect x=\"160\" y=\"%zu\" "
		    "width=\"%.0f\" height=\"14\" fill=\"#f9a825\"/><rect x=\"160\" "
		    "y=\"%zu\" width=\"%.0f\" height=\"14\" fill=\"#2e7d32\"/>"
		    "<text x=\"%.0f\" y=\"%zu\" font-size=\"11\">%.0f%%</text>\n",
		    i * 18 + 3, 480 * r, i * 18 + 3, 480 * a, 166 + 480 * r,
		    i * 18 + 14, 100 * a);
		i++;
	}
	evbuffer_add(out, "</svg>\n", 7);
	if (n > shown)
		evbuffer_add_printf(out, "<p>（仅画出前%zu个网格，共%zu个，见上表）</p>\n",
		    shown, n);
}

/* Answers per minute after the start: a histogram. */
static void
report_histogram(struct evbuffer *out, const json_t *mins)
{
	size_t n = json_array_size(mins);
	json_int_t max = 1;

	for (size_t i = 0; i < n; i++)
		if (json_integer_value(json_array_get(mins, i)) > max)
			max = json_integer_value(json_array_get(mins, i));
	evbuffer_add_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"720\" height=\"180\" role=\"img\" aria-label=\"回复用时分布\">\n");
	for (size_t i = 0; i < n; i++) {
		double h = 140.0 * (double)json_integer_value(json_array_get(
		    mins, i)) / (double)max;

		evbuffer_add_printf(out, "<rect x=\"%zu\" y=\"%.0f\" width=\"18\" "
		    "height=\"%.0f\" fill=\"#1565c0\"/>", 20 + i * 22,
		    150 - h, h);
		if (i % 5 == 0 || i + 1 == n)
			evbuffer_add_printf(out, "<text x=\"%zu\" y=\"168\" "
			    "font-size=\"11\">%s%zu</text>", 20 + i * 22,
			    i + 1 == n ? "≥" : "", i);
	}
	evbuffer_add(out, "\n<text x=\"600\" y=\"168\" font-size=\"11\">分钟"
	    "</text></svg>\n", strlen("\n<text x=\"600\" y=\"168\" "
	    "font-size=\"11\">分钟</text></svg>\n"));
}

static void
report_people(struct evbuffer *out, const json_t *list, json_int_t more,
    bool errors)
{
	const json_t *p;
	char masked[12];
	size_t i;

	evbuffer_add_printf(out, "<table><tr><th>姓名</th><th>电话</th><th>网格"
	    "</th><th>状态</th>%s</tr>\n", errors ? "<th>原因</th>" : "");
	json_array_foreach((json_t *)list, i, p) {
		if (i == REPORT_ROWS_MAX) {
			more += (json_int_t)(json_array_size(list) - i);
			break;
		}
		phone_mask(rstr_of(p, "phone"), masked);
		evbuffer_add(out, "<tr><td>", 8);
		html_escape(out, rstr_of(p, "name"));
		evbuffer_add_printf(out, "</td><td>%s</td><td>", masked);
		html_escape(out, rstr_of(p, "grid"));
		evbuffer_add(out, "</td><td>", 9);
		html_escape(out, rstr_of(p, "state"));
		if (errors) {
			evbuffer_add(out, "</td><td>", 9);
			html_escape(out, rstr_of(p, "error"));
		}
		evbuffer_add(out, "</td></tr>\n", 11);
	}
	evbuffer_add(out, "</table>\n", 9);
	if (more > 0)
		evbuffer_add_printf(out, "<p>另有%lld人未列出。</p>\n",
		    (long long)more);
}

static void
report_times(struct evbuffer *out, const json_t *roles)
{
	const json_t *r;
	const char *k;

	evbuffer_add(out, "<table><tr><th>岗位</th><th>已回复</th><th>中位用时"
	    "</th><th>90%用时</th></tr>\n", strlen("<table><tr><th>岗位</th>"
	    "<th>已回复</th><th>中位用时</th><th>90%用时</th></tr>\n"));
	json_object_foreach((json_t *)roles, k, r) {
		int role = roster_role_parse(k);

		evbuffer_add_printf(out, "<tr><td>%s</td><td>%lld</td>",
		    role >= 0 ? roster_role_label(role) : "?",
		    (long long)rint_of(r, "answered"));
		if (json_is_null(json_object_get(r, "median_s")))
			evbuffer_add(out, "<td>-</td><td>-</td></tr>\n", 25);
		else
			evbuffer_add_printf(out, "<td>%.0f秒</td><td>%.0f秒</td>"
			    "</tr>\n", json_real_value(json_object_get(r,
			    "median_s")), json_real_value(json_object_get(r,
			    "p90_s")));
	}
	evbuffer_add(out, "</table>\n", 9);
}

static void
report_steps(struct evbuffer *out, const json_t *steps)
{
	const json_t *s;
	size_t i;

	if (json_array_size(steps) == 0) {
		evbuffer_add_printf(out, "<p>无叫应升级步骤。</p>\n");
		return;
	}
	evbuffer_add_printf(out, "<table><tr><th>步骤</th><th>动作</th><th>"
	    "是否执行</th><th>未回复</th><th>重发</th><th>通知</th><th>通知后回复"
	    "</th></tr>\n");
	json_array_foreach((json_t *)steps, i, s) {
		evbuffer_add_printf(out, "<tr><td>%lld</td><td>",
		    (long long)rint_of(s, "step"));
		html_escape(out, rstr_of(s, "action"));
		evbuffer_add_printf(out, "</td><td>%s</td><td>%lld</td><td>%lld"
		    "</td><td>%lld</td><td>%lld</td></tr>\n",
		    json_is_null(json_object_get(s, "fired_at_ms")) ? "未到时" :
		    "已执行", (long long)rint_of(s, "silent"),
		    (long long)rint_of(s, "resent"), (long long)rint_of(s,
		    "told"), (long long)rint_of(s, "told_acked"));
	}
	evbuffer_add(out, "</table>\n", 9);
}

void
report_html(const json_t *doc, struct evbuffer *out)
{
	const json_t *c = json_object_get(doc, "counts");
	bool drill = strcmp(rstr_of(doc, "kind"), "drill") == 0;

	evbuffer_add(out, report_head, sizeof(report_head) - 1);
	html_escape(out, rstr_of(doc, "title"));
	evbuffer_add_printf(out, "（%s）总结报告", rstr_of(doc, "code"));
	evbuffer_add(out, report_style, sizeof(report_style) - 1);
	evbuffer_add(out, "<h1>", 4);
	if (drill)
		evbuffer_add_printf(out, "<span class=\"drill\">演练</span> ");
	html_escape(out, rstr_of(doc, "title"));
	evbuffer_add_printf(out, "</h1>\n<p>编号 %s · 开始 %s · 状态 %s · 共%lld人"
	    "，已回复%lld人，未回复%lld人，发送失败%lld人</p>\n",
	    rstr_of(doc, "code"), rstr_of(doc, "created_at"),
	    rstr_of(doc, "state"), (long long)rint_of(doc, "recipients"),
	    (long long)rint_of(c, "acked"), (long long)(rint_of(doc,
	    "recipients") - rint_of(c, "acked") - rint_of(c, "cancelled")),
	    (long long)rint_of(c, "failed"));
	evbuffer_add_printf(out, "<h2>各社区</h2>\n");
	report_counts_table(out, json_object_get(doc, "per_community"), "社区");
	evbuffer_add_printf(out, "<h2>各网格回复率</h2>\n");
	report_grid_bars(out, json_object_get(doc, "per_grid"));
	report_counts_table(out, json_object_get(doc, "per_grid"), "网格");
	evbuffer_add_printf(out, "<h2>回复用时</h2>\n");
	report_times(out, json_object_get(doc, "time_to_ack"));
	report_histogram(out, json_object_get(doc, "acks_by_minute"));
	evbuffer_add_printf(out, "<h2>叫应升级</h2>\n");
	report_steps(out, json_object_get(doc, "escalations"));
	evbuffer_add_printf(out, "<h2>未回复人员</h2>\n");
	report_people(out, json_object_get(doc, "never_answered"),
	    rint_of(doc, "never_answered_more"), false);
	evbuffer_add_printf(out, "<h2>发送失败的号码（请核对花名册）</h2>\n");
	report_people(out, json_object_get(doc, "failed_numbers"),
	    rint_of(doc, "failed_numbers_more"), true);
	evbuffer_add_printf(out, "</body>\n</html>\n");
}
