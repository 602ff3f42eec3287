# ctest: configuring lwai where a required dependency is missing (FlatBuffers, hidden from
# find_package here) stops with one message naming the Debian package to install, without
# CMake's call stack or search report (what `pip install .` shows a user).
# Arguments: -DSOURCE_DIR= -DWORK_DIR=
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}
                -DCMAKE_DISABLE_FIND_PACKAGE_FlatBuffers=TRUE -DLWAI_BUILD_TESTS=OFF
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(result EQUAL 0)
  message(FATAL_ERROR "configuring without FlatBuffers succeeded")
endif()
string(REGEX REPLACE "[ \n]+" " " text "${err}")
if(NOT text MATCHES "lwai needs FlatBuffers' headers and CMake package, which is missing: apt-get install libflatbuffers-dev")
  message(FATAL_ERROR "no message naming the package:\n${err}")
endif()
if(err MATCHES "Call Stack|FlatBuffersConfig.cmake")
  message(FATAL_ERROR "CMake's stack or search report instead of one message:\n${err}")
endif()
