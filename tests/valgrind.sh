#!/bin/sh
# The black-box suite under valgrind memcheck: every sanzhangd and
# sanzhangctl the tests start runs under valgrind, and a memory error or a
# definite leak fails the test (SANZHANG_VALGRIND=1, see
# tests/blackbox/conftest.py).  Run it from a build directory, like
# tests/blackbox.sh, whose environment it takes (SANZHANGD, SANZHANGCTL...).
#
#   tests/valgrind.sh --all    the whole suite (what CI runs): ~10 min
#                              on 2 cores, ~18 min of CPU
#   tests/valgrind.sh          a subset for a quicker look
#
# Further arguments go to pytest (e.g. -x, or -k to narrow the subset).
# The tests run in parallel as tests/blackbox.sh runs them, but in one
# worker more than there are CPUs by default (SANZHANG_BLACKBOX_JOBS):
# under memcheck they are busy computing, not waiting.  The tests of
# volume (the crash tests, the big fan-outs) use a third of their people
# (tests/blackbox/conftest.py, volume()).
#
# The subset drives every subsystem through its error paths as well as
# its normal ones:
# roster import (CSV, JSON, invalid rows, merge), alerts (creation,
# idempotency, vacancies, cancel, restart), fan-out through webhook, file
# and a real Kannel with delivery reports, acks by page, operator and SMS
# reply, escalation, reload, inbound callbacks, metrics, the dashboard and
# its API, Alertmanager, reports, the SMS and robot plugins, the HTTP
# server's refusals, config checking and sanzhangctl.

here=$(cd "$(dirname "$0")" && pwd)

SUBSET="
test_csv_round_trip test_json_import_equivalent test_malformed_json_400
test_every_bad_line_named_and_nothing_changed
test_merge_adds_and_updates_removes_nothing test_roster_survives_restart
test_create_201_shape test_backup_only_when_primary_missing_and_vacancies
test_idempotency_key_replay test_cancel_refusals test_alert_survives_restart
test_invalid_alert_names_field test_scoped_operator_inside_scope
test_webhook_fanout_one_signed_request_per_person
test_webhook_410_falls_back_to_file_at_once
test_kannel_fanout_and_delivery_reports
test_post_answers_once_and_keeps_first_time test_get_shows_and_never_answers
test_operator_records_a_phoned_answer test_forged_links_get_nothing_then_429
test_reply_1_acknowledges_the_only_open_alert test_several_open_alerts
test_silent_one_is_resent_then_parent_then_duty
test_needs_help_tells_grid_leader_and_duty_officer
test_reload_applies_tokens_and_templates
test_reload_refuses_broken_and_restart_only_changes
test_refused_callbacks_are_alike_and_change_nothing
test_metrics_follow_what_happened
test_page_over_plain_http test_dashboard_in_chromium
test_notification_raises_one_alert_per_episode
test_real_alertmanager_raises_and_resolves
test_report_csv_and_html test_public_html
test_drill_goes_out_batched_and_marked test_drill_batched_receipts_and_reply
test_one_post_per_grid_with_its_leaders
test_malformed_request_gets_4xx_and_the_daemon_serves_on
test_declared_huge_body_is_refused_at_once
test_bad_config_refuses_to_start test_import_export_round_trip
test_hundred_reloads_under_load test_evil_strings_everywhere
test_notice_waits_in_quiet_hours_emergency_and_drill_do_not
test_receipts_move_deliveries test_sms_reply_acknowledges test_show
"

SANZHANG_VALGRIND=1
cpus=$(nproc 2>/dev/null || echo 1)
SANZHANG_BLACKBOX_JOBS=${SANZHANG_BLACKBOX_JOBS:-$((cpus + 1))}
export SANZHANG_VALGRIND SANZHANG_BLACKBOX_JOBS

if [ "${1:-}" = --all ]; then
	shift
	exec "$here/blackbox.sh" "$@"
fi

k=
for t in $SUBSET; do
	k="${k:+$k or }$t"
done
exec "$here/blackbox.sh" -k "$k" "$@"
