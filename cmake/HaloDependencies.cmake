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

# libpq from its static archive in every build, so that tests run the client
# the static binary ships. Debian builds it with GSSAPI and LDAP, which have
# no static libraries; src/storage/libpq_without_gssapi_ldap.cc stands in.
find_path(HALO_LIBPQ_INCLUDE libpq-fe.h PATHS /usr/include/postgresql REQUIRED)
find_library(HALO_LIBPQ_STATIC libpq.a REQUIRED)
find_program(HALO_PG_CONFIG pg_config REQUIRED)
execute_process(COMMAND ${HALO_PG_CONFIG} --pkglibdir OUTPUT_VARIABLE HALO_PG_PKGLIBDIR
  OUTPUT_STRIP_TRAILING_WHITESPACE)
find_library(HALO_PGCOMMON libpgcommon_shlib.a PATHS ${HALO_PG_PKGLIBDIR} /usr/lib/postgresql/15/lib REQUIRED
  NO_DEFAULT_PATH)
find_library(HALO_PGPORT libpgport_shlib.a PATHS ${HALO_PG_PKGLIBDIR} /usr/lib/postgresql/15/lib REQUIRED
  NO_DEFAULT_PATH)
add_library(halo_libpq_without_gssapi_ldap STATIC
  ${PROJECT_SOURCE_DIR}/src/storage/libpq_without_gssapi_ldap.cc)
add_library(halo_dep_postgres INTERFACE)
target_include_directories(halo_dep_postgres INTERFACE ${HALO_LIBPQ_INCLUDE})
# One group, so that OpenSSL and the stand-ins come after what calls them
# wherever else the link line names them.
target_link_libraries(halo_dep_postgres INTERFACE
  -Wl,--start-group ${HALO_LIBPQ_STATIC} ${HALO_PGCOMMON} ${HALO_PGPORT}
  $<TARGET_FILE:halo_libpq_without_gssapi_ldap> -lssl -lcrypto -Wl,--end-group Threads::Threads dl)
add_dependencies(halo_dep_postgres halo_libpq_without_gssapi_ldap)

# libmicrohttpd from its static archive, without GnuTLS (whose static
# library needs p11-kit, which Debian ships only shared): the monitoring
# listener is plain HTTP; src/monitoring/microhttpd_without_tls.cc stands in.
find_path(HALO_MICROHTTPD_INCLUDE microhttpd.h REQUIRED)
find_library(HALO_MICROHTTPD_STATIC libmicrohttpd.a REQUIRED)
add_library(halo_microhttpd_without_tls STATIC ${PROJECT_SOURCE_DIR}/src/monitoring/microhttpd_without_tls.cc)
add_library(halo_dep_microhttpd INTERFACE)
target_include_directories(halo_dep_microhttpd INTERFACE ${HALO_MICROHTTPD_INCLUDE})
target_link_libraries(halo_dep_microhttpd INTERFACE
  -Wl,--start-group ${HALO_MICROHTTPD_STATIC} $<TARGET_FILE:halo_microhttpd_without_tls> -Wl,--end-group
  Threads::Threads)
add_dependencies(halo_dep_microhttpd halo_microhttpd_without_tls)

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
