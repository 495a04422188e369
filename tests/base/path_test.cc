#include "base/path.h"

#include <gtest/gtest.h>

namespace gpuhost {
namespace {

TEST(PathTest, ResolvesSysfsLinks) {
  EXPECT_EQ(ResolveLink("/sys/bus/pci/devices/0000:02:00.0",
                        "../../../devices/pci0000:00/0000:00:03.0/0000:02:00.0"),
            "/sys/devices/pci0000:00/0000:00:03.0/0000:02:00.0");
  EXPECT_EQ(ResolveLink("/sys/devices/pci0000:00/0000:00:02.0/iommu_group",
                        "../../../kernel/iommu_groups/1"),
            "/sys/kernel/iommu_groups/1");
  EXPECT_EQ(ResolveLink("/a/b", "/abs//x/./y"), "/abs/x/y");
}

TEST(PathTest, NeverClimbsAboveRoot) {
  EXPECT_EQ(NormalizePath("/../../etc"), "/etc");
  EXPECT_EQ(NormalizePath("/"), "/");
  EXPECT_EQ(NormalizePath("//"), "/");
}

}  // namespace
}  // namespace gpuhost
