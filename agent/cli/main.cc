// gpuhost-agent: wiring only. Parse the subcommand, hand over to its runner.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/commands.h"

#ifndef GPUHOST_VERSION
#define GPUHOST_VERSION "dev"
#endif

namespace {

using gpuhost::cli::Command;
using gpuhost::cli::Commands;

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "gpuhost-agent %s: turns a GPU server into a KVM host.\n\n"
               "Usage: gpuhost-agent COMMAND [OPTIONS]\n\nCommands:\n",
               GPUHOST_VERSION);
  for (const auto& c : Commands()) std::fprintf(out, "  %-11s %s\n", c.name, c.summary);
  std::fprintf(out, "\n'gpuhost-agent COMMAND --help' describes a command's options.\n");
}

void PrintCommandHelp(const Command& c) {
  std::printf("Usage: gpuhost-agent %s %s\n\n%s\n\nOptions:\n%s  --help%s Show this help.\n",
              c.name, c.usage, c.summary, gpuhost::cli::OptionsHelp(c.options).c_str(), "   ");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(stdout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::printf("gpuhost-agent %s\n", GPUHOST_VERSION);
    return 0;
  }
  for (const auto& c : Commands()) {
    if (name != c.name) continue;
    for (int i = 2; i < argc; ++i) {
      if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
        PrintCommandHelp(c);
        return 0;
      }
    }
    auto args = gpuhost::cli::Args::Parse(c.options, argc, argv, 2);
    if (!args.ok()) {
      std::fprintf(stderr, "gpuhost-agent %s: %s\n", c.name, args.status().message().c_str());
      return 2;
    }
    // Errors are values; an exception that still escapes (a bug, bad_alloc)
    // ends as a message and exit 1, not an abort. `apply` catches its own
    // first, to leave a failed result behind.
    try {
      return c.run(*args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gpuhost-agent %s: internal error: %s\n", c.name, e.what());
    } catch (...) {
      std::fprintf(stderr, "gpuhost-agent %s: internal error\n", c.name);
    }
    return 1;
  }
  std::fprintf(stderr, "gpuhost-agent: unknown command '%s'\n\n", name.c_str());
  PrintUsage(stderr);
  return 2;
}
