#include "fleet/policy_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "base/fileio.h"

#ifndef GPUHOST_TEST_SOURCE_DIR
#error "GPUHOST_TEST_SOURCE_DIR must name tests/"
#endif

namespace gpuhost::testing {

PolicyServer::PolicyServer(const std::string& dir) : dir_(dir + "/policy-server") {
  std::filesystem::create_directories(dir_);
  int out[2];
  if (pipe(out) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    // A test that crashes never runs the destructor: the server must not
    // outlive it, holding ctest's output pipe open until ctest's timeout.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    std::string script = std::string(GPUHOST_TEST_SOURCE_DIR) + "/fleet/policy_server.py";
    execlp("python3", "python3", script.c_str(), dir_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[128] = {};
  if (f != nullptr && std::fgets(line, sizeof line, f) != nullptr) {
    std::istringstream in(line);
    std::string word;
    in >> word >> port_ >> wrong_port_;
    if (word != "ready") port_ = wrong_port_ = 0;
  }
  if (f != nullptr) std::fclose(f);
}

PolicyServer::~PolicyServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
}

void PolicyServer::Put(const std::string& path, const std::string& text) const {
  std::string full = dir_ + "/www" + path;
  std::filesystem::create_directories(std::filesystem::path(full).parent_path());
  Status s = WriteFileAtomic(full, text, 0644);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

std::string PolicyServer::Requests() const {
  auto text = ReadFileAt(dir_ + "/requests.log");
  return text.ok() ? *text : "";
}

}  // namespace gpuhost::testing
