# Every dependency comes from Debian 12's archive. Libraries are named with -l
# flags rather than imported .so targets so that one set of link lines serves
# both the fully static `halo` (where -static makes the linker pick the .a)
# and the dynamically linked tests and benchmarks.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(GRPCPP REQUIRED grpc++)
pkg_check_modules(PROTOBUF REQUIRED protobuf)
pkg_check_modules(OPENSSL REQUIRED openssl>=3.0)
pkg_check_modules(SODIUM REQUIRED libsodium)
pkg_check_modules(SQLITE REQUIRED sqlite3)

find_program(HALO_PROTOC protoc REQUIRED)
find_program(HALO_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_path(HALO_CATCH2_INCLUDE catch2/catch.hpp REQUIRED)
find_path(HALO_CLI11_INCLUDE CLI/CLI.hpp REQUIRED)
find_path(HALO_SPDLOG_INCLUDE spdlog/spdlog.h REQUIRED)
find_path(HALO_ROCKSDB_INCLUDE rocksdb/db.h REQUIRED)

add_library(halo_dep_abseil INTERFACE)
target_link_libraries(halo_dep_abseil INTERFACE
  -Wl,--start-group ${GRPCPP_STATIC_LIBRARIES} -Wl,--end-group)

add_library(halo_dep_grpc INTERFACE)
target_link_libraries(halo_dep_grpc INTERFACE
  -Wl,--start-group ${GRPCPP_STATIC_LIBRARIES} ${PROTOBUF_STATIC_LIBRARIES} -Wl,--end-group
  Threads::Threads)

add_library(halo_dep_protobuf INTERFACE)
target_link_libraries(halo_dep_protobuf INTERFACE ${PROTOBUF_STATIC_LIBRARIES} halo_dep_abseil)

add_library(halo_dep_openssl INTERFACE)
target_link_libraries(halo_dep_openssl INTERFACE ssl crypto dl Threads::Threads)

add_library(halo_dep_sodium INTERFACE)
target_link_libraries(halo_dep_sodium INTERFACE sodium)

add_library(halo_dep_sqlite INTERFACE)
target_link_libraries(halo_dep_sqlite INTERFACE sqlite3 m dl Threads::Threads)

add_library(halo_dep_rocksdb INTERFACE)
target_include_directories(halo_dep_rocksdb INTERFACE ${HALO_ROCKSDB_INCLUDE})
target_link_libraries(halo_dep_rocksdb INTERFACE
  -Wl,--start-group rocksdb snappy z bz2 lz4 zstd -Wl,--end-group Threads::Threads)

# spdlog and fmt ship only shared libraries in Debian; header-only mode keeps
# the executable static.
add_library(halo_dep_spdlog INTERFACE)
target_compile_definitions(halo_dep_spdlog INTERFACE SPDLOG_HEADER_ONLY FMT_HEADER_ONLY
  SPDLOG_FMT_EXTERNAL)

add_library(halo_dep_catch2 INTERFACE)
target_include_directories(halo_dep_catch2 INTERFACE ${HALO_CATCH2_INCLUDE})

add_library(halo_dep_cli11 INTERFACE)
target_include_directories(halo_dep_cli11 INTERFACE ${HALO_CLI11_INCLUDE})

if(HALO_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
