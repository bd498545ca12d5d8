/* Internal to jp_spawn_run (src/spawn.c): for tests and bench/. */
#ifndef JP_SPAWN_WAIT_H
#define JP_SPAWN_WAIT_H

#include <stdbool.h>

/* How jp_spawn_run learns that a command has exited: a pidfd (true, the default, where the kernel has
 * pidfd_open) or a thread waiting in waitid (false, what it falls back to where there is none). */
void jp_spawn_wait_kind(bool pidfd);

#endif
