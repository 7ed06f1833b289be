// A fresh directory under the system temp dir, removed with its contents.
#ifndef HALO_TESTS_TESTING_TEMP_DIR_H_
#define HALO_TESTS_TESTING_TEMP_DIR_H_

#include <filesystem>
#include <string>

namespace halo::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_TEMP_DIR_H_
