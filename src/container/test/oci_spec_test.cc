#include "wasmshim/container/oci_spec.h"

#include <gtest/gtest.h>

#include "spec_error.h"

namespace wasmshim::container {
namespace {

TEST(OciSpec, ReadsWhatTheEngineNeeds) {
  auto spec = parse_oci_spec(R"({
    "ociVersion": "1.0.2",
    "process": {"args": ["/demo.wasm", "echo", "hi"], "env": ["PATH=/bin", "A=b"], "cwd": "/work"},
    "root": {"path": "rootfs", "readonly": true},
    "hostname": "wasm",
    "annotations": {"io.kubernetes.cri.sandbox-id": "pod1", "n": 3}
  })",
                             "/run/bundle");
  EXPECT_EQ(spec.process.args, (std::vector<std::string>{"/demo.wasm", "echo", "hi"}));
  EXPECT_EQ(spec.process.env.size(), 2u);
  EXPECT_EQ(spec.process.cwd, "/work");
  EXPECT_EQ(spec.root_path, "/run/bundle/rootfs");
  EXPECT_TRUE(spec.root_readonly);
  EXPECT_EQ(spec.hostname, "wasm");
  EXPECT_EQ(spec.annotations.at("io.kubernetes.cri.sandbox-id"), "pod1");
  EXPECT_EQ(spec.annotations.count("n"), 0u);
  EXPECT_EQ(parse_oci_spec(R"({"process":{"args":["a"]},"root":{"path":"/abs"}})", "/b").root_path,
            "/abs");
}

TEST(OciSpec, ReadsTheProcessSettingsCriSends) {
  auto spec = parse_oci_spec(R"({"process": {"args": ["/pause"], "oomScoreAdj": -998,
    "apparmorProfile": "cri-containerd.apparmor.d", "selinuxLabel": "system_u:system_r:t"}})",
                             "/b");
  EXPECT_EQ(spec.process.oom_score_adj, -998);
  EXPECT_EQ(spec.process.apparmor_profile, "cri-containerd.apparmor.d");
  EXPECT_EQ(spec.process.selinux_label, "system_u:system_r:t");
  EXPECT_FALSE(parse_oci_spec(R"({"process":{"args":["a"]}})", "/b").process.oom_score_adj);
  EXPECT_NE(
      error_of(R"({"process":{"args":["a"],"oomScoreAdj":1001}})").find("outside -1000..1000"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"process":{"args":["a"],"oomScoreAdj":"low"}})").find("oomScoreAdj"),
            std::string::npos);
}

// An exec's process arrives alone, as containerd sends it.
TEST(OciSpec, ParsesAnExecsProcess) {
  const OciProcess process = parse_oci_process(
      R"({"args": ["/tool", "probe"], "env": ["A=1"], "cwd": "/srv", "user": {"uid": 1000, "gid": 1000},
          "noNewPrivileges": true})");
  EXPECT_EQ(process.args, (std::vector<std::string>{"/tool", "probe"}));
  EXPECT_EQ(process.cwd, "/srv");
  EXPECT_EQ(process.user.uid, 1000u);
  EXPECT_TRUE(process.no_new_privileges);
  auto error_of_process = [](const char* text) {
    try {
      parse_oci_process(text);
    } catch (const OciSpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of_process("{").find("the exec process spec is not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of_process(R"({"args": [], "x": -1e999})").find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(
      error_of_process(R"({"args": []})").find("the exec process spec: process.args is empty"),
      std::string::npos);
}

TEST(OciSpec, NamesWhatIsWrong) {
  EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
  // A number past double's range is a JSON error too, not another exception.
  EXPECT_NE(error_of(R"({"ociVersion": 7E666})").find("config.json is not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of("{}").find("process is missing"), std::string::npos);
  EXPECT_NE(error_of(R"({"process":{"args":[]}})").find("process.args is empty"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"process":{"args":[1]}})").find("process.args must be an array"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"process":{"args":["a"],"env":"x"}})").find("process.env"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"process":{"args":["a"],"cwd":5}})").find("process.cwd"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"process":{"args":["a"],"terminal":"yes"}})").find("process.terminal"),
            std::string::npos);
}

}  // namespace
}  // namespace wasmshim::container
