# ctest: installs this build into a scratch prefix, checks that no -march flag reached the
# installed package, then configures, builds and runs tests/cmake/consumer against it with
# find_package(lwai), and configures lwai as a subproject. Arguments: -DBUILD_DIR= -DSOURCE_DIR=
# -DWORK_DIR= -DMODEL=
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
file(GLOB_RECURSE exported ${WORK_DIR}/prefix/*.cmake)
foreach(file ${exported})
  file(READ ${file} text)
  if(text MATCHES "march")
    message(FATAL_ERROR "${file} carries a -march flag into the installed package")
  endif()
endforeach()
if(NOT EXISTS ${WORK_DIR}/prefix/include/lwai/lwai_c.h)
  message(FATAL_ERROR "the C API header was not installed")
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/cmake/consumer -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/lwai_consumer ${MODEL})
if(NOT last_output MATCHES "output 0: dtype")
  message(FATAL_ERROR "the consumer printed no output: ${last_output}")
endif()
message(STATUS "installed package used by a consumer: ${last_output}")
# As a subproject (add_subdirectory): configured only.
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/cmake/subproject -B ${WORK_DIR}/subproject
    -DLWAI_SOURCE_DIR=${SOURCE_DIR} -DLWAI_WITH_ONEDNN=OFF)
