/*
 * html.h - what the HTML pages share.
 */
#ifndef SANZHANG_HTML_H
#define SANZHANG_HTML_H

struct evbuffer;

/* s with & < > " ' as entities. */
void html_escape(struct evbuffer *out, const char *s);

#endif
