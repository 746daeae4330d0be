/*
 * dispatch.h - the sender: reads due deliveries from the store's queue in
 * pages (emergencies first), renders each message, hands them to their
 * channel's plugin within its rate, concurrency and batch size, and writes
 * back what happened: sent, retried later with backoff and jitter, or
 * failed over to the next channel of the recipient's routing.
 *
 * Nothing is marked in the store before it is sent: a delivery stays
 * queued until its outcome is written, so a crash re-sends what was in
 * flight under the same delivery id (at least once).
 */
#ifndef SANZHANG_DISPATCH_H
#define SANZHANG_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sanzhang/plugin.h>

struct daemon;
struct dispatch;

/* Load and open the channels and start sending; NULL and err on failure. */
struct dispatch *dispatch_new(struct daemon *d, char *err, size_t errlen);
/* New deliveries were queued: look now rather than at the next tick. */
void dispatch_wake(struct dispatch *dp);
/* An alert was cancelled: drop its messages not yet handed to a plugin. */
void dispatch_cancelled(struct dispatch *dp, int64_t alert_id);
/* Stop taking new work (a daemon stop); what is in flight finishes. */
void dispatch_stop(struct dispatch *dp);
/* Messages in flight or outcomes not yet written (a stop waits for 0). */
size_t dispatch_busy(const struct dispatch *dp);
/* Messages read from the queue and not yet settled. */
size_t dispatch_queued(const struct dispatch *dp);
void dispatch_free(struct dispatch *dp);

/*
 * The receipts of one inbound callback, so that its answer waits until
 * they are on disk (the gateway does not send a receipt twice once it
 * has heard 200).  dispatch_inbound_begin() before the plugin's inbound(),
 * dispatch_inbound_end() after: it returns NULL when the callback
 * reported no receipt, else a batch the caller hands to
 * dispatch_inbound_wait() or, when it answers after a write of its own
 * queued after them, reads with receipt_batch_failed() once that write
 * is done, and lets go of with receipt_batch_put().
 */
struct receipt_batch;
typedef void (*receipt_batch_fn)(bool ok, void *arg);
void dispatch_inbound_begin(struct dispatch *dp);
struct receipt_batch *dispatch_inbound_end(struct dispatch *dp);
/* done(ok) once every receipt of b is written (first tries), on the loop. */
void dispatch_inbound_wait(struct receipt_batch *b, receipt_batch_fn done,
    void *arg);
bool receipt_batch_failed(const struct receipt_batch *b);
void receipt_batch_put(struct receipt_batch *b);

/* The channel of this name, for inbound callbacks; NULL when unknown. */
struct sz_chan *dispatch_channel(struct dispatch *dp, const char *name);
/* Every channel (n of them), for status reports. */
struct sz_chan *const *dispatch_channels(struct dispatch *dp, size_t *n);
/*
 * A reload: switch to next's channels (see chan_reload(), which says what
 * changed in changed).  0, or -1 and err (file:line) with the running
 * channels unchanged.
 */
int dispatch_reload(struct dispatch *dp, const struct config *next,
    char *changed, size_t changedlen, char *err, size_t errlen);

/* From the host functions of chan.c. */
void dispatch_outcome(struct dispatch *dp, struct sz_chan *c,
    const char *msg_id, enum sz_outcome outcome, const char *provider_id,
    int retry_after, const char *why);
int dispatch_receipt(struct dispatch *dp, struct sz_chan *c, const char *id,
    bool by_provider, bool delivered, const char *why);

#endif
