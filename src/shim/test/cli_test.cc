#include "cli.h"

#include <gtest/gtest.h>

#include <fstream>

#include "address.h"
#include "support/temp_dir.h"

namespace wasmshim::shim {
namespace {

TEST(ShimFlags, ParsesWhatContainerdPasses) {
  auto flags =
      parse_flags({"-namespace", "default", "-address", "/run/containerd/containerd.sock",
                   "-publish-binary", "/usr/bin/containerd", "-id", "t1", "-debug", "start"});
  EXPECT_EQ(flags.namespace_name, "default");
  EXPECT_EQ(flags.address, "/run/containerd/containerd.sock");
  EXPECT_EQ(flags.publish_binary, "/usr/bin/containerd");
  EXPECT_EQ(flags.id, "t1");
  EXPECT_TRUE(flags.debug);
  EXPECT_EQ(flags.action, "start");
  auto again = parse_flags(to_args(flags));
  EXPECT_EQ(again.id, "t1");
  EXPECT_EQ(again.action, "start");
}

TEST(ShimFlags, GoFlagSpellings) {
  auto flags = parse_flags({"--id=x", "-bundle=/b", "-v"});
  EXPECT_EQ(flags.id, "x");
  EXPECT_EQ(flags.bundle, "/b");
  EXPECT_TRUE(flags.version);
  EXPECT_FALSE(parse_flags({"-debug=false"}).debug);
}

TEST(ShimFlags, NamesWhatIsWrong) {
  try {
    parse_flags({"-frobnicate", "start"});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("-frobnicate"), std::string::npos);
  }
  EXPECT_THROW(parse_flags({"-id"}), std::invalid_argument);
  EXPECT_THROW(parse_flags({"start", "delete"}), std::invalid_argument);
}

TEST(ShimAddress, MatchesContainerdsScheme) {
  // SHA-256 of "/run/containerd/containerd.sock/default/t1", as Go's
  // filepath.Join makes it.
  EXPECT_EQ(shim_socket_address("/run/containerd/containerd.sock", "default", "t1"),
            "unix:///run/containerd/s/"
            "df6a0c5cd2e9a1a16d9a3f2447365d9fc6021bc1d3d9a4caa2f5b2c4f773758f");
  EXPECT_EQ(shim_socket_address("/run/containerd/containerd.sock/", "default", "t1"),
            shim_socket_address("/run/containerd/containerd.sock", "default", "t1"));
}

TEST(ShimAddress, GroupsByAnnotation) {
  wasmshim::testing::TempDir bundle;
  const std::string dir = bundle.path().string();
  EXPECT_EQ(grouping_id(dir, "t1"), "t1");  // no config.json
  std::ofstream(dir + "/config.json")
      << R"({"annotations":{"io.kubernetes.cri.sandbox-id":"pod"}})";
  EXPECT_EQ(grouping_id(dir, "t1"), "pod");
  std::ofstream(dir + "/config.json")
      << R"({"annotations":{"io.kubernetes.cri.sandbox-id":"pod","io.containerd.wasmshim.group":"g"}})";
  EXPECT_EQ(grouping_id(dir, "t1"), "g");
  std::ofstream(dir + "/config.json") << "{broken";
  EXPECT_EQ(grouping_id(dir, "t1"), "t1");
}

}  // namespace
}  // namespace wasmshim::shim
