// Access to the public test vectors in ../shared/testdata, read in place.
#ifndef HALO_TESTS_TESTING_TESTDATA_H_
#define HALO_TESTS_TESTING_TESTDATA_H_

#include <google/protobuf/struct.pb.h>

#include <optional>
#include <string>

namespace halo::testing {

// The testdata directory: $HALO_TESTDATA_DIR, else ../shared/testdata beside
// the source tree. Empty when absent. Under CI=true absence fails the
// calling test; otherwise the test is reported as skipped by name.
std::optional<std::string> TestdataDir();

// Parses `relative_path` under TestdataDir() as JSON. Returns nullopt (after
// reporting the skip, or failing under CI) when the directory is absent.
std::optional<google::protobuf::Value> LoadTestVectors(const std::string& relative_path);

// Shorthands over parsed JSON.
const google::protobuf::Value& Field(const google::protobuf::Value& object, const std::string& name);
std::string StringField(const google::protobuf::Value& object, const std::string& name);
// Decodes a hex string field; fails the test on bad hex.
std::string HexField(const google::protobuf::Value& object, const std::string& name);

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_TESTDATA_H_
