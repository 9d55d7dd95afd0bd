# `cmake --install`: headers, libllama3.so with its SONAME, a CMake package (find_package(llama3)
# gives llama3::llama3 for the C++ API and llama3::c for the C ABI; both are libllama3.so) and
# llama3.pc for pkg-config. tests/install/ builds consumers against an install prefix.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The C ABI's usage requirements: the C header and the library, without the C++20 requirement.
add_library(llama3_c_abi INTERFACE)
set_target_properties(llama3_c_abi PROPERTIES EXPORT_NAME c)
target_include_directories(llama3_c_abi INTERFACE
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(llama3_c_abi INTERFACE $<LINK_ONLY:llama3_c>)

install(TARGETS llama3_c llama3_c_abi EXPORT llama3Targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/llama3.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# server.hpp and distributed.hpp are left out: the server (src/server, llama3_server) and the MPI
# pipeline (src/distributed, llama3_distributed) are not part of libllama3.so, so an installed
# header would promise symbols the installed library lacks.
install(DIRECTORY ${LLAMA3_SOURCE_DIR}/include/llama3 DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp" PATTERN "server.hpp" EXCLUDE PATTERN "distributed.hpp" EXCLUDE)

set(LLAMA3_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/llama3)
install(EXPORT llama3Targets NAMESPACE llama3:: DESTINATION ${LLAMA3_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/llama3Config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/llama3Config.cmake INSTALL_DESTINATION ${LLAMA3_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/llama3ConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/llama3Config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/llama3ConfigVersion.cmake DESTINATION ${LLAMA3_CMAKE_DIR})

# The prefix is found from the .pc file's own place, so the install can be moved (--prefix at
# install time, DESTDIR, a copied tree).
file(RELATIVE_PATH LLAMA3_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" LLAMA3_PC_TO_PREFIX "${LLAMA3_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/llama3.pc.in ${CMAKE_CURRENT_BINARY_DIR}/llama3.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/llama3.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# libllama3_mpi.so (the C ABI with the MPI pipeline, capi/CMakeLists.txt) with llama3_mpi.h and
# llama3_mpi.pc, when the build has it. It is left out of the CMake package: its consumers link one
# library through pkg-config (-lllama3_mpi), and its MPI dependency stays private to it.
if(TARGET llama3_mpi)
  install(TARGETS llama3_mpi LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/llama3_mpi.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/llama3_mpi.pc.in ${CMAKE_CURRENT_BINARY_DIR}/llama3_mpi.pc
                 @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/llama3_mpi.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
