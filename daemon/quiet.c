/*
 * quiet.c - quiet hours in Beijing time.
 */
#include "quiet.h"

#include <stdio.h>
#include <string.h>

#define QUIET_TZ_MS	(8LL * 3600 * 1000)	/* Asia/Shanghai, no DST */
#define QUIET_DAY_MS	(24LL * 3600 * 1000)
#define QUIET_MIN_MS	(60LL * 1000)

static int
quiet_hhmm(const char *s, int *out)
{
	int h, m;

	/* Exactly "HH:MM": two digits, a colon, two digits. */
	if (strlen(s) != 5 || s[2] != ':' || sscanf(s, "%2d:%2d", &h, &m) != 2 ||
	    s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
	    s[3] < '0' || s[3] > '9' || s[4] < '0' || s[4] > '9' ||
	    h > 23 || m > 59)
		return -1;
	*out = h * 60 + m;
	return 0;
}

int
quiet_parse(const char *s, struct quiet *q)
{
	char a[6], b[6];

	if (strlen(s) != 11 || s[5] != '-')
		return -1;
	memcpy(a, s, 5);
	a[5] = '\0';
	memcpy(b, s + 6, 5);
	b[5] = '\0';
	if (quiet_hhmm(a, &q->start) == -1 || quiet_hhmm(b, &q->end) == -1 ||
	    q->start == q->end)
		return -1;
	q->set = true;
	return 0;
}

int64_t
quiet_until(const struct quiet *q, int64_t now_ms)
{
	int64_t local = now_ms + QUIET_TZ_MS;
	int64_t midnight = local - ((local % QUIET_DAY_MS) + QUIET_DAY_MS) %
	    QUIET_DAY_MS;
	int64_t end;
	int min;

	if (q == NULL || !q->set)
		return 0;
	min = (int)((local - midnight) / QUIET_MIN_MS);
	if (q->start < q->end) {		/* 12:00-14:00 */
		if (min < q->start || min >= q->end)
			return 0;
		end = midnight + q->end * QUIET_MIN_MS;
	} else {				/* 22:00-07:00 */
		if (min < q->start && min >= q->end)
			return 0;
		end = midnight + q->end * QUIET_MIN_MS;
		if (min >= q->start)
			end += QUIET_DAY_MS;
	}
	return end - QUIET_TZ_MS;	/* back to UTC */
}
