#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

#include "halo/storage/local_postgres_server.h"
#include "testing/test_databases.h"

int main(int argc, char* argv[]) {
  // A suite run on PostgreSQL (HALO_TEST_DATABASE=postgresql, see
  // tests/CMakeLists.txt) is skipped as a whole where PostgreSQL is not
  // installed: ctest reports it skipped by name (SKIP_RETURN_CODE).
  if (halo::testing::BackendUnderTest() == halo::testing::Backend::kPostgres) {
    auto binaries = halo::storage::LocalPostgresServer::FindBinaries();
    if (!binaries.ok()) {
      const char* ci = std::getenv("CI");
      if (ci != nullptr && std::string(ci) == "true") {
        std::cerr << "PostgreSQL is required under CI=true: " << binaries.status().message() << "\n";
        return 1;
      }
      std::cerr << "SKIPPED: this suite runs on PostgreSQL, and " << binaries.status().message() << "\n";
      return halo::testing::kSkippedExitCode;
    }
  }
  return Catch::Session().run(argc, argv);
}
