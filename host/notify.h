/* notify.h - the sd_notify(3) datagram protocol, without libsystemd.
 *
 * When $NOTIFY_SOCKET names a unix datagram socket (a path, or "@name"
 * for the abstract namespace), each message ("READY=1", "RELOADING=1",
 * "STOPPING=1", "STATUS=...") is sent there as one datagram; without it
 * nothing is sent. sd_notify(3) documents the protocol as stable.
 */
#ifndef INTEG_HOST_NOTIFY_H
#define INTEG_HOST_NOTIFY_H

/* Send STATE (newline-separated assignments) to $NOTIFY_SOCKET. Returns 1
 * when sent, 0 when there is no socket to send to, or a negative
 * INTEG_E* code when sending failed (best effort: callers log it). */
int notify_send(const char *state);

/* notify_send of a formatted state. */
int notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
