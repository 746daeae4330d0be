/*
 * quiet.h - quiet hours: a daily window of Beijing time (UTC+8, no DST)
 * in which notices wait.  Emergencies and drills never do.
 */
#ifndef SANZHANG_QUIET_H
#define SANZHANG_QUIET_H

#include <stdbool.h>
#include <stdint.h>

/* [start, end) in minutes after midnight; end < start wraps midnight. */
struct quiet {
	bool	 set;
	int	 start;
	int	 end;
};

/* "HH:MM-HH:MM" (00:00 to 23:59, start != end); -1 when malformed. */
int quiet_parse(const char *s, struct quiet *q);
/*
 * When the window holds now (ms since the epoch), the ms at which it ends;
 * 0 when it does not (or no window is set).
 */
int64_t quiet_until(const struct quiet *q, int64_t now_ms);

#endif
