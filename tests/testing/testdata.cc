#include "testing/testdata.h"

#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "halo/common/hex.h"

namespace halo::testing {

std::optional<std::string> TestdataDir() {
  std::filesystem::path dir;
  if (const char* env = std::getenv("HALO_TESTDATA_DIR"); env != nullptr && *env != '\0') {
    dir = env;
  } else {
    dir = std::filesystem::path(HALO_SOURCE_DIR) / ".." / "shared" / "testdata";
  }
  if (std::filesystem::is_directory(dir)) return dir.lexically_normal().string();
  return std::nullopt;
}

std::optional<google::protobuf::Value> LoadTestVectors(const std::string& relative_path) {
  std::optional<std::string> dir = TestdataDir();
  if (!dir) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
      FAIL("test vectors " << relative_path << " missing: ../shared/testdata is required under CI");
    }
    WARN("SKIPPED " << Catch::getResultCapture().getCurrentTestName() << ": ../shared/testdata/"
                    << relative_path << " is absent");
    return std::nullopt;
  }
  std::ifstream in(*dir + "/" + relative_path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  google::protobuf::Value value;
  auto status = google::protobuf::util::JsonStringToMessage(text.str(), &value);
  REQUIRE(status.ok());
  return value;
}

const google::protobuf::Value& Field(const google::protobuf::Value& object, const std::string& name) {
  const auto& fields = object.struct_value().fields();
  auto it = fields.find(name);
  if (it == fields.end()) FAIL("test vector has no field " << name);
  return it->second;
}

std::string StringField(const google::protobuf::Value& object, const std::string& name) {
  return Field(object, name).string_value();
}

std::string HexField(const google::protobuf::Value& object, const std::string& name) {
  std::string hex = StringField(object, name);
  if (hex.rfind("0x", 0) == 0) hex = hex.substr(2);
  auto bytes = HexDecode(hex);
  if (!bytes.ok()) FAIL("field " << name << ": " << bytes.status().ToString());
  return *bytes;
}

}  // namespace halo::testing
