#include "report/event_loops.h"

#include <sched.h>

#include <algorithm>

namespace gpuhost::report {

int AutoEventLoops(int cpus_allowed) { return std::clamp(cpus_allowed, 1, kMaxAutoEventLoops); }

int CpusAllowed() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  return CPU_COUNT(&set);
}

}  // namespace gpuhost::report
