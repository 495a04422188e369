#include "support/test_env.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

namespace gpuhost::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/gpuhost-test-XXXXXX";
  char* p = mkdtemp(tmpl.data());
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string HardwareDir() { return GPUHOST_HARDWARE_DIR; }
std::string TestDataDir() { return GPUHOST_TEST_DATA_DIR; }
std::string AgentBinary() { return GPUHOST_AGENT_BINARY; }

std::string RunCommand(const std::string& command, int* exit_status) {
  std::string out;
  FILE* f = popen(command.c_str(), "r");
  if (f == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = pclose(f);
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  if (exit_status != nullptr) {
    *exit_status = code;
  } else if (code != 0) {
    ADD_FAILURE() << "command failed (" << code << "): " << command;
  }
  return out;
}

std::string TreeSnapshot(const std::string& root) {
  namespace fs = std::filesystem;
  std::vector<std::string> lines;
  for (const char* top :
       {"etc", "sys/bus", "sys/devices", "sys/module", "proc/sys", "run", "var"}) {
    std::error_code ec;
    fs::recursive_directory_iterator it(fs::path(root) / top, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      std::string rel = p.lexically_relative(root).string();
      if (it->is_symlink(ec)) {
        lines.push_back(rel + " -> " + fs::read_symlink(p, ec).string());
      } else if (it->is_regular_file(ec)) {
        std::ifstream in(p, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        char hash[17];
        std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(text));
        lines.push_back(rel + " " + std::to_string(text.size()) + " " + hash);
      }
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

std::map<std::string, std::string> LspciIds(const std::string& lspci_args) {
  std::map<std::string, std::string> ids;
  std::istringstream lines(RunCommand("lspci -mm -n -D " + lspci_args));
  std::string line;
  while (std::getline(lines, line)) {
    // 0000:00:06.0 "0302" "10de" "2335" -ra1 -p00 "10de" "18bf"
    std::istringstream fields(line);
    std::string addr, cls, vendor, device, tok, rev = "00";
    fields >> addr >> cls >> vendor >> device;
    while (fields >> tok) {
      if (tok.rfind("-r", 0) == 0) rev = tok.substr(2);
    }
    auto unquote = [](std::string s) { return s.size() >= 2 ? s.substr(1, s.size() - 2) : s; };
    ids[addr] = unquote(cls) + " " + unquote(vendor) + ":" + unquote(device) + " " + rev;
  }
  return ids;
}

}  // namespace gpuhost::testing
