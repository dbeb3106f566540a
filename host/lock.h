/* lock.h - one run of a connector at a time, across processes.
 *
 * The lock is flock(2) on DIR/CONNECTOR.lock, taken by the process that
 * runs the connector (the daemon's child or `integ run`), so a child that
 * outlives a crashed daemon still holds it and the kernel frees it when
 * that process dies. The holder writes its pid into the file, so a refusal
 * names it.
 */
#ifndef INTEG_HOST_LOCK_H
#define INTEG_HOST_LOCK_H

#include <sys/types.h>

#include <integ/plugin.h>

/* Take CONNECTOR's lock in DIR (created, mode 0755, when absent): *fd is
 * the lock's descriptor (close-on-exec; lock_release frees it). Returns 0,
 * or INTEG_ESTATE: when another process holds it *holder (may be NULL)
 * gets its pid (-1 when it wrote none yet) and err names it; when DIR or
 * the file cannot be used *holder is 0 and err says which and why. */
int lock_take(const char *dir, const char *connector, int *fd, pid_t *holder,
              struct integ_error *err);

/* As lock_take, on the file PATH (its directory must exist); a refusal
 * says "WHAT: pid N holds PATH". */
int lock_take_file(const char *path, const char *what, int *fd, pid_t *holder,
                   struct integ_error *err);

/* Release a lock lock_take gave (-1 is fine). */
void lock_release(int fd);

/* Whether CONNECTOR's lock in DIR is held now; *holder gets the pid
 * written in it (0 when unknown). 0 when it is free or absent. */
int lock_held(const char *dir, const char *connector, pid_t *holder);

#endif
