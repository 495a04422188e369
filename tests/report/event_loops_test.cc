// serve's default event-loop count follows the CPUs it may run on: on one
// pinned CPU one loop (two would take turns and lengthen the tail), never more
// than kMaxAutoEventLoops.
#include "report/event_loops.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace gpuhost::testing {
namespace {

TEST(EventLoopsTest, OnePerAllowedCpuAtMostTheCap) {
  EXPECT_EQ(report::AutoEventLoops(0), 1) << "an unreadable mask still serves";
  EXPECT_EQ(report::AutoEventLoops(1), 1);
  EXPECT_EQ(report::AutoEventLoops(2), 2);
  EXPECT_EQ(report::AutoEventLoops(report::kMaxAutoEventLoops), report::kMaxAutoEventLoops);
  EXPECT_EQ(report::AutoEventLoops(192), report::kMaxAutoEventLoops);
}

// The count is this thread's real affinity mask: pinned to one CPU, one.
TEST(EventLoopsTest, ReadsTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_EQ(report::CpusAllowed(), CPU_COUNT(&saved));
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  int pinned = report::CpusAllowed();
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_EQ(pinned, 1);
  EXPECT_EQ(report::AutoEventLoops(pinned), 1);
}

}  // namespace
}  // namespace gpuhost::testing
