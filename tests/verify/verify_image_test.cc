// verify-image on trees that lack what an image needs. The positive case is
// the real image: the image build runs verify-image on its own tree.
#include "verify/verify_image.h"

#include <gtest/gtest.h>

#include <map>

#include "host/fs.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

TEST(VerifyImageTest, TreeWithoutAKernelFails) {
  TempDir dir;
  RootFs fs(dir.path());
  auto rep = verify::VerifyImage(fs, false);
  EXPECT_FALSE(rep.ok());
  ASSERT_EQ(rep.findings.size(), 1u);
  EXPECT_EQ(rep.findings[0].detail, "no /usr/lib/modules/RELEASE in the tree");
}

TEST(VerifyImageTest, ModulesWithoutIndexesOrFilesFail) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Write("/usr/lib/modules/6.12.0-test/modules.builtin", "kernel/drivers/vfio/vfio.ko\n");
  RootFs fs(dir.path());
  auto rep = verify::VerifyImage(fs, true);
  EXPECT_FALSE(rep.ok());
  EXPECT_EQ(rep.kernel_release, "6.12.0-test");
  std::map<std::string, verify::Finding> by;
  for (const auto& f : rep.findings) by[f.what] = f;
  EXPECT_FALSE(by["module indexes (modules.dep.bin)"].ok);
  EXPECT_TRUE(by["module vfio"].ok) << "built in";
  EXPECT_FALSE(by["module vfio_pci"].ok);
  EXPECT_FALSE(by["module nvidia"].ok);
}

TEST(VerifyImageTest, TwoKernelsAreAmbiguous) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Write("/usr/lib/modules/6.1.0/modules.builtin", "");
  b.Write("/usr/lib/modules/6.12.0/modules.builtin", "");
  RootFs fs(dir.path());
  auto rep = verify::VerifyImage(fs, false);
  EXPECT_FALSE(rep.ok());
  EXPECT_NE(rep.findings[0].detail.find("more than one kernel"), std::string::npos);
}

}  // namespace
}  // namespace gpuhost::testing
