/*
 * roster_html.c - the public posting (挂牌公示): one printable HTML page
 * per export, a section per community (a printed page each), a table per
 * grid and per building, phones masked.
 *
 * Rows come in export order, which keeps a node's posts together but does
 * not promise more, so a new heading starts whenever the community, grid
 * or building differs from the previous row's.
 */
#include "html.h"
#include "roster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

struct roster_html {
	struct evbuffer	*out;
	char		 sec[32];		/* "street|community" of the section */
	char		 place[ROSTER_MAX_CODE];	/* sec + "|grid|building" */
	bool		 section;		/* a <section> is open */
	bool		 table;			/* a <table> is open */
	bool		 units;			/* the open table has a unit column */
};

static const char html_head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>%s</title>\n"
    "<style>\n"
    "body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\","
    "\"Microsoft YaHei\",\"PingFang SC\",sans-serif;margin:2em;color:#000}\n"
    "h1{text-align:center;font-size:1.8em;margin:0 0 .8em}\n"
    "h2{font-size:1.4em;border-bottom:2px solid #b00;padding-bottom:.2em}\n"
    "h2 small{font-size:.7em;font-weight:normal;color:#444;margin-left:.6em}\n"
    "h3{font-size:1.1em;margin:1.2em 0 .4em}\n"
    "table{border-collapse:collapse;width:100%%;margin-bottom:.6em}\n"
    "th,td{border:1px solid #555;padding:.35em .6em;text-align:left}\n"
    "th{background:#f3e6e6}\n"
    "td.phone{font-family:monospace;white-space:nowrap}\n"
    "footer{margin-top:2em;font-size:.9em;color:#444}\n"
    "@page{size:A4;margin:15mm}\n"
    "@media print{body{margin:0}"
    "section.community+section.community{break-before:page;"
    "page-break-before:always}"
    "table,h3{break-inside:avoid;page-break-inside:avoid}"
    "h3{break-after:avoid;page-break-after:avoid}"
    "th{background:none}}\n"
    "</style>\n</head>\n<body>\n<h1>%s</h1>\n";

void
html_escape(struct evbuffer *out, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *ent;

		switch (*s) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default: continue;
		}
		evbuffer_add(out, run, (size_t)(s - run));
		evbuffer_add(out, ent, strlen(ent));
		run = s + 1;
	}
	evbuffer_add(out, run, (size_t)(s - run));
}

static bool
html_numeric(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* "12" reads as "12号楼", "3" as "3单元"; other labels stay as written. */
static void
html_label(struct evbuffer *out, const char *label, const char *suffix)
{
	html_escape(out, label);
	if (html_numeric(label))
		evbuffer_add(out, suffix, strlen(suffix));
}

static const char *
html_s(const char *s)
{
	return s != NULL ? s : "";
}

struct roster_html *
roster_html_begin(struct evbuffer *out, const char *title)
{
	struct roster_html *h;
	struct evbuffer *t;
	char *esc;
	size_t n;

	if ((h = calloc(1, sizeof(*h))) == NULL || (t = evbuffer_new()) == NULL) {
		free(h);
		return NULL;
	}
	html_escape(t, title != NULL && *title != '\0' ? title : "三长联动公示");
	n = evbuffer_get_length(t);
	if ((esc = malloc(n + 1)) == NULL) {
		evbuffer_free(t);
		free(h);
		return NULL;
	}
	evbuffer_remove(t, esc, n);
	esc[n] = '\0';
	evbuffer_add_printf(out, html_head, esc, esc);
	free(esc);
	evbuffer_free(t);
	h->out = out;
	return h;
}

static void
html_close(struct roster_html *h, bool section)
{
	if (h->table)
		evbuffer_add_printf(h->out, "</tbody></table>\n");
	h->table = false;
	if (section && h->section)
		evbuffer_add_printf(h->out, "</section>\n");
	if (section)
		h->section = false;
}

static void
html_section(struct roster_html *h, const struct roster_row *row)
{
	const char *cc = html_s(row->community_code);

	html_close(h, true);
	evbuffer_add_printf(h->out, "<section class=\"community\">\n<h2>");
	if (*cc != '\0') {
		html_escape(h->out, html_s(row->community_name));
		evbuffer_add_printf(h->out, "<small>");
		html_escape(h->out, html_s(row->street_name));
		evbuffer_add_printf(h->out, "</small>");
	} else
		html_escape(h->out, html_s(row->street_name));
	evbuffer_add_printf(h->out, "</h2>\n");
	h->section = true;
}

static void
html_table(struct roster_html *h, const struct roster_row *row)
{
	const char *cc = html_s(row->community_code), *grid = html_s(row->grid);
	const char *bld = html_s(row->building);

	html_close(h, false);
	evbuffer_add_printf(h->out, "<h3>");
	if (*cc == '\0')
		evbuffer_add_printf(h->out, "街道值班");
	else if (*grid == '\0')
		evbuffer_add_printf(h->out, "%s值班",
		    roster_code_is_village(cc) ? "村委会" : "社区");
	else {
		evbuffer_add_printf(h->out, "%s：",
		    roster_code_is_village(cc) ? "村民小组" : "网格");
		html_escape(h->out, grid);
		if (*bld != '\0') {
			evbuffer_add_printf(h->out, " · 楼栋：");
			html_label(h->out, bld, "号楼");
		}
	}
	h->units = *bld != '\0';
	evbuffer_add_printf(h->out, "</h3>\n<table>\n<thead><tr>%s<th>职务</th>"
	    "<th>姓名</th><th>联系电话</th></tr></thead>\n<tbody>\n",
	    h->units ? "<th>单元</th>" : "");
	h->table = true;
}

void
roster_html_row(struct roster_html *h, const struct roster_row *row)
{
	char sec[sizeof(h->sec)], place[sizeof(h->place)], masked[12];
	const char *unit = html_s(row->unit);

	if (h == NULL)
		return;
	snprintf(sec, sizeof(sec), "%s|%s", html_s(row->street_code),
	    html_s(row->community_code));
	snprintf(place, sizeof(place), "%s|%s|%s", sec, html_s(row->grid),
	    html_s(row->building));
	if (!h->section || strcmp(sec, h->sec) != 0) {
		html_section(h, row);
		memcpy(h->sec, sec, sizeof(sec));
	}
	if (!h->table || strcmp(place, h->place) != 0) {
		html_table(h, row);
		memcpy(h->place, place, sizeof(place));
	}
	evbuffer_add_printf(h->out, "<tr>");
	if (h->units) {
		evbuffer_add_printf(h->out, "<td>");
		if (*unit != '\0')
			html_label(h->out, unit, "单元");
		else
			evbuffer_add_printf(h->out, "—");
		evbuffer_add_printf(h->out, "</td>");
	}
	evbuffer_add_printf(h->out, "<td>%s（%s）</td><td>",
	    roster_role_label(row->role), row->rank == 2 ? "B角" : "A角");
	html_escape(h->out, html_s(row->name));
	phone_mask(html_s(row->phone), masked);
	evbuffer_add_printf(h->out, "</td><td class=\"phone\">%s</td></tr>\n",
	    masked);
}

void
roster_html_end(struct roster_html *h)
{
	if (h == NULL)
		return;
	html_close(h, true);
	evbuffer_add_printf(h->out, "<footer>注：为保护个人信息，联系电话中间"
	    "四位已隐去；如需联系，请向社区（村）委会查询。</footer>\n"
	    "</body>\n</html>\n");
	free(h);
}
