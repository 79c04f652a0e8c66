/*
 * The parent's side of a spawn: pipes, the clone, and cleaning up after a child that
 * could not exec.
 *
 * Why not posix_spawn: it cannot set resource limits or switch the user before
 * exec. Why not fork (what child_process does on Node 20-24): it copies the page
 * tables of the whole server and blocks its event loop for as long. clone with
 * CLONE_VM|CLONE_VFORK shares the memory instead and suspends only the calling
 * thread until the child has exec'd, as glibc's posix_spawn does.
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The child only makes syscalls from a few small frames. */
#define CHILD_STACK_SIZE (64 * 1024)
#define KERNEL_SIGSET_SIZE 8

static void close_fds(int *fds, int count) {
  for (int i = 0; i < count; i++) {
    if (fds[i] >= 0) close(fds[i]);
    fds[i] = -1;
  }
}

/*
 * Three pipes (not socketpairs: a script sees a FIFO on its stdio, as under a web
 * server). Both ends close-on-exec, so no other child started meanwhile inherits
 * them; the child's dup3 onto 0..2 clears the flag on its copies only. The parent's
 * ends are non-blocking for libuv; the child's stay blocking, as scripts expect.
 */
static int open_pipes(int parent[3], int child[3], const int sizes[3], struct cgb_failure *failure) {
  for (int i = 0; i < 3; i++) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) {
      failure->syscall = "pipe2";
      return -1;
    }
    int child_reads = i == 0;
    parent[i] = child_reads ? ends[1] : ends[0];
    child[i] = child_reads ? ends[0] : ends[1];
    /* A new pipe's end has no status flag but its access mode, which F_SETFL leaves alone. */
    if (fcntl(parent[i], F_SETFL, O_NONBLOCK) != 0) {
      failure->syscall = "fcntl";
      return -1;
    }
    /* Best effort: over the per-user pipe budget (root is exempt) the kernel says no. A large
     * stdin pipe made uploads 25-40% faster; a large stdout pipe pays only with reads as
     * large (the gateway's), and stderr keeps the default (measured in npm run bench). */
    if (sizes[i] > 0) (void)fcntl(parent[i], F_SETPIPE_SZ, sizes[i]);
  }
  return 0;
}

/*
 * The stack a pool thread keeps for its next child. The thread is suspended until its child
 * has exec'd or exited, so no two children use one at once. Mapping and unmapping a stack at
 * each spawn took about a fifth of a pool thread's time under load (the unmap flushes the TLB
 * of the CPUs the server runs on). Only for threads that live as long as the process (libuv's
 * pool): nothing unmaps it. The addon is linked with -z nodelete, so a worker thread that
 * loaded it and exits does not unload it, which would drop this thread-local pointer and
 * orphan the stack.
 */
static __thread char *kept_stack;

static char *map_stack(struct cgb_failure *failure) {
  char *stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack != MAP_FAILED) return stack;
  failure->error = errno;
  failure->syscall = "mmap";
  return NULL;
}

/* Blocks every signal in this thread (the raw syscall: glibc's sigprocmask would
 * leave its two internal signals open). The child inherits the mask, so no handler
 * of the parent can run on the child's side of the shared memory. */
static void block_all_signals(uint64_t *saved) {
  uint64_t all = ~(uint64_t)0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, saved, KERNEL_SIGSET_SIZE);
}

static void restore_signals(const uint64_t *saved) {
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, saved, NULL, KERNEL_SIGSET_SIZE);
}

/* Waits for a child known to have exited (or to be exiting) and discards its status. */
static void reap_now(pid_t pid) {
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

/*
 * The clone itself. CLONE_PIDFD hands back the pidfd with the pid, so there is no
 * moment when a started child has no handle on its exit. SIGCHLD as the exit
 * signal keeps it an ordinary child for tools; libuv only ever waits for the pids
 * it started, so it never reaps ours.
 */
static pid_t clone_child(struct cgb_child_context *ctx, int keep_stack, int *pidfd, struct cgb_failure *failure) {
  if (keep_stack && kept_stack == NULL) kept_stack = map_stack(failure);
  char *stack = keep_stack ? kept_stack : map_stack(failure);
  if (stack == NULL) return -1;
  uint64_t saved_mask;
  block_all_signals(&saved_mask);
  pid_t pid = clone(cgb_child_main, stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, ctx,
                    pidfd);
  int clone_error = errno;
  restore_signals(&saved_mask);
  if (!keep_stack) munmap(stack, CHILD_STACK_SIZE);
  if (pid < 0) {
    failure->error = clone_error;
    failure->syscall = "clone";
  }
  return pid;
}

int cgb_spawn(const struct cgb_request *req, int keep_stack, struct cgb_child *child, struct cgb_failure *failure) {
  int parent_ends[3] = {-1, -1, -1};
  struct cgb_child_context ctx = {.req = req, .ends = {-1, -1, -1}, .error = 0, .syscall = NULL};
  int pidfd = -1;

  const int pipe_sizes[3] = {req->pipe_size, req->stdout_pipe_size, 0};
  if (open_pipes(parent_ends, ctx.ends, pipe_sizes, failure) != 0) {
    failure->error = errno;
    close_fds(parent_ends, 3);
    close_fds(ctx.ends, 3);
    return -1;
  }
  pid_t pid = clone_child(&ctx, keep_stack, &pidfd, failure);
  /* The child has its copies (or is gone): ours would keep its stdin open and its
   * stdout from ever reaching EOF. */
  close_fds(ctx.ends, 3);
  if (pid > 0 && ctx.error != 0) {
    /* It ran, failed before or at execve, and has exited with 127. */
    reap_now(pid);
    close(pidfd);
    failure->error = ctx.error;
    failure->syscall = ctx.syscall;
    pid = -1;
  }
  if (pid < 0) {
    close_fds(parent_ends, 3);
    return -1;
  }
  child->pid = pid;
  child->pidfd = pidfd;
  for (int i = 0; i < 3; i++) child->fds[i] = parent_ends[i];
  return 0;
}

int cgb_reap(int pidfd, int *code, int *signo) {
  siginfo_t info;
  info.si_pid = 0;
  for (;;) {
    if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) == 0) break;
    if (errno != EINTR) return -errno;
  }
  /* WNOHANG and still running: si_pid stays 0. */
  if (info.si_pid == 0) return 0;
  *code = info.si_code == CLD_EXITED ? info.si_status : -1;
  *signo = info.si_code == CLD_EXITED ? -1 : info.si_status;
  return 1;
}

/* pidfd_open (5.3) and waitid(P_PIDFD) (5.4), on ourselves. */
static int probe_pidfd(struct cgb_failure *failure) {
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd < 0) {
    failure->error = errno;
    failure->syscall = "pidfd_open";
    return -1;
  }
  siginfo_t info;
  int error = waitid((idtype_t)P_PIDFD, (id_t)fd, &info, WEXITED | WNOHANG) == 0 ? 0 : errno;
  close(fd);
  /* ECHILD is the answer we expect (no process is its own child); EINVAL means the
   * kernel has pidfd_open but not waitid(P_PIDFD). */
  if (error == 0 || error == ECHILD) return 0;
  failure->error = error;
  failure->syscall = "waitid";
  return -1;
}

/*
 * A trial spawn of a program that cannot exist (/dev/null is no directory): it must
 * come back as execve's ENOTDIR, which proves the clone flags, the shared-memory
 * report and the reaping work here. Emulators and sandboxes (qemu-user, gVisor)
 * may refuse CLONE_VFORK|CLONE_PIDFD; better to know at load than at each request.
 */
static int probe_clone(struct cgb_failure *failure) {
  static char *none[] = {NULL};
  static char *candidates[] = {"/dev/null/cgibridge-probe", NULL};
  struct cgb_request req = {
      .file = candidates[0], .candidates = candidates, .argv = none, .envp = none, .cwd = "/"};
  struct cgb_child child;
  if (cgb_spawn(&req, 0, &child, failure) == 0) {
    /* Cannot happen: an exec of that path succeeded. Clean up all the same. */
    kill(child.pid, SIGKILL);
    reap_now(child.pid);
    close(child.pidfd);
    close_fds(child.fds, 3);
    failure->error = EINVAL;
    failure->syscall = "execve";
    return -1;
  }
  return failure->error == ENOTDIR && strcmp(failure->syscall, "execve") == 0 ? 0 : -1;
}

int cgb_probe(struct cgb_failure *failure) {
  return probe_pidfd(failure) == 0 && probe_clone(failure) == 0 ? 0 : -1;
}
