/* test_notify.c - sd_notify datagrams, to a path and an abstract name. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify.h"

/* A datagram socket bound to name (a path, or "@x" abstract). */
static int listener(const char *name)
{
  struct sockaddr_un sa;
  size_t n = strlen(name);
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

  assert_true(fd >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, name, n);
  if (name[0] == '@')
    sa.sun_path[0] = '\0';
  assert_int_equal(
      bind(fd, (struct sockaddr *)&sa,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
      0);
  return fd;
}

static void expect_message(int fd, const char *want)
{
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

  assert_true(n > 0);
  buf[n] = '\0';
  assert_string_equal(buf, want);
}

static void nothing_is_sent_without_notify_socket(void **state)
{
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  assert_int_equal(notify_send("READY=1"), 0);
}

static void messages_reach_a_path_socket(void **state)
{
  char path[] = "/tmp/integ-notify-XXXXXX";
  int fd;

  (void)state;
  assert_non_null(mkdtemp(path));
  {
    char sock[64];

    snprintf(sock, sizeof(sock), "%s/s", path);
    fd = listener(sock);
    setenv("NOTIFY_SOCKET", sock, 1);
    assert_int_equal(notify_send("READY=1"), 1);
    expect_message(fd, "READY=1");
    assert_int_equal(notify_sendf("STATUS=%d running", 3), 1);
    expect_message(fd, "STATUS=3 running");
    close(fd);
    unlink(sock);
  }
  rmdir(path);
}

static void messages_reach_an_abstract_socket(void **state)
{
  char name[64];
  int fd;

  (void)state;
  snprintf(name, sizeof(name), "@integ-test-notify-%ld", (long)getpid());
  fd = listener(name);
  setenv("NOTIFY_SOCKET", name, 1);
  assert_int_equal(notify_send("STOPPING=1"), 1);
  expect_message(fd, "STOPPING=1");
  close(fd);
}

static void a_bad_address_is_refused(void **state)
{
  (void)state;
  setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
  assert_true(notify_send("READY=1") < 0);
  unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nothing_is_sent_without_notify_socket),
      cmocka_unit_test(messages_reach_a_path_socket),
      cmocka_unit_test(messages_reach_an_abstract_socket),
      cmocka_unit_test(a_bad_address_is_refused),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
