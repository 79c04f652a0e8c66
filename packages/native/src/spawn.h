/*
 * The process start itself: pipes, a vfork-style clone, the child's set-up, exec.
 * Plain C and Linux syscalls, no N-API, so it can run on any thread.
 */
#ifndef CGB_SPAWN_H
#define CGB_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

/* RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC: at most one of each. */
#define CGB_MAX_LIMITS 3

struct cgb_limit {
  int resource;   /* RLIMIT_* */
  uint64_t value; /* soft and hard limit alike, as util-linux prlimit --cpu=N sets them */
};

/* Everything the child needs, built by the parent: the child may not allocate. */
struct cgb_request {
  char *file;         /* the program as asked for (error reports name it) */
  char **candidates;  /* NULL-terminated paths execve tries in order: the PATH lookup, done ahead */
  char **argv;        /* NULL-terminated */
  char **envp;        /* NULL-terminated "K=V" */
  char *cwd;
  struct cgb_limit limits[CGB_MAX_LIMITS];
  int limit_count;
  int set_uid;
  int set_gid;
  uid_t uid;
  gid_t gid;
  int pipe_size;        /* bytes for F_SETPIPE_SZ on the stdin pipe; 0 keeps the kernel's default */
  int stdout_pipe_size; /* the same for the stdout pipe */
};

/* A started child: the parent's ends of its stdio pipes, and a pidfd for its exit. */
struct cgb_child {
  pid_t pid;
  int pidfd;
  int fds[3]; /* [0] writes the child's stdin, [1] and [2] read its stdout and stderr */
};

/* Why nothing was started. `syscall` is a string literal. */
struct cgb_failure {
  int error; /* errno */
  const char *syscall;
};

/*
 * Starts req; 0 and *child filled, or -1 and *failure filled (nothing left running, no fd left open).
 * keep_stack: 1 on a thread that lives as long as the process (libuv's pool), which then maps
 * the child's stack once and keeps it for its next spawn; 0 maps one for this spawn only.
 */
int cgb_spawn(const struct cgb_request *req, int keep_stack, struct cgb_child *child, struct cgb_failure *failure);

/* Reaps a child without blocking: 1 with code and signo filled (the unused one -1), 0 while it runs, or -errno. */
int cgb_reap(int pidfd, int *code, int *signo);

/*
 * 0 when this system can run cgb_spawn: pidfd_open and waitid(P_PIDFD) (Linux 5.4+),
 * and a trial clone that fails at execve as it should. Else -1 and *failure filled.
 */
int cgb_probe(struct cgb_failure *failure);

#endif
