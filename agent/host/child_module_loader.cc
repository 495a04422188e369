#include "host/child_module_loader.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "host/process_group.h"

namespace gpuhost {
namespace {

using Clock = std::chrono::steady_clock;

// The child's answer on the pipe: one code byte, then the message.
void Send(int fd, const Status& s) {
  std::string msg(1, static_cast<char>(s.code()));
  msg += s.message();
  size_t off = 0;
  while (off < msg.size()) {
    ssize_t n = write(fd, msg.data() + off, msg.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Reads until EOF or the deadline; false at the deadline.
bool ReadAll(int fd, Clock::time_point deadline, std::string* out) {
  char buf[512];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r < 0;  // an error reads as EOF; 0 is the deadline
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Status ChildModuleLoader::Load(const std::string& name, const std::string& options) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  auto now = Clock::now();
  auto deadline = std::min(now + std::chrono::milliseconds(timeout_ms_), run_deadline_);
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return Status::FromErrno("fork to load module " + name, err);
  }
  if (pid == 0) {
    setpgid(0, 0);
    close(fds[0]);
    Send(fds[1], inner_.Load(name, options));
    _exit(0);
  }
  // Set here too: the parent may kill the group before the child ran setpgid.
  setpgid(pid, pid);
  close(fds[1]);
  std::string answer;
  bool in_time = ReadAll(fds[0], deadline, &answer);
  close(fds[0]);
  GroupWait w =
      WaitOrKillGroup(pid, in_time ? deadline : Clock::now(), std::chrono::milliseconds(grace_ms_));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
  std::string limit = std::to_string(std::max<int64_t>(ms, 0)) + " ms";
  if (!in_time || w.timed_out) {
    return Status::Timeout("load module " + name + ": did not finish within its deadline of " +
                           limit + "; stopped" +
                           (w.reaped ? "" : " (stuck in the kernel; left behind)"));
  }
  if (answer.empty()) {
    return Status::Io("load module " + name + ": the loading process died without an answer");
  }
  auto code = static_cast<Status::Code>(answer[0]);
  if (code == Status::Code::kOk) return Status::Ok();
  return Status::FromCode(code, answer.substr(1));
}

}  // namespace gpuhost
