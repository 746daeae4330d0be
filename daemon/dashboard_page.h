/*
 * dashboard_page.h - the parts of the duty room's page (dashboard_page.c).
 * The page is head, <style>style</style>, body, <script>script</script>,
 * tail; the style and the script are apart so that their hashes can go
 * into the Content-Security-Policy (dashboard.c).
 */
#ifndef SANZHANG_DASHBOARD_PAGE_H
#define SANZHANG_DASHBOARD_PAGE_H

extern const char dashboard_head[];	/* doctype to </title> */
extern const char dashboard_style[];	/* the inside of <style> */
extern const char dashboard_body[];	/* </head> to the end of <main> */
extern const char dashboard_script[];	/* the inside of <script> */
extern const char dashboard_tail[];	/* </body></html> */

#endif
