// How many event loops serve runs when not told: one per CPU the process may
// run on (its affinity mask, which systemd's CPUAffinity= and taskset set), at
// most kMaxAutoEventLoops. More loops than CPUs only take turns on the same
// CPU, which lengthens the tail (bench/serve_bench.sh with PIN=1: two loops on
// one CPU, p99 9.8 ms against nginx's 7.2 ms with one worker).
#ifndef GPUHOST_REPORT_EVENT_LOOPS_H_
#define GPUHOST_REPORT_EVENT_LOOPS_H_

namespace gpuhost::report {

// A status page needs few: four loops saturate loopback here, and the unit's
// TasksMax=16 must also hold the libvirt and NVML readers.
inline constexpr int kMaxAutoEventLoops = 4;

// `cpus_allowed`: CPUs in the affinity mask (< 1 when it could not be read).
// Returns 1..kMaxAutoEventLoops.
int AutoEventLoops(int cpus_allowed);

// CPUs in this process's affinity mask (sched_getaffinity), 0 when unreadable.
int CpusAllowed();

}  // namespace gpuhost::report

#endif  // GPUHOST_REPORT_EVENT_LOOPS_H_
