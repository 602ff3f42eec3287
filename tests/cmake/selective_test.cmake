# ctest: configures lwai as a selective runtime (CMake's LWAI_SELECTED_OPS), without building:
# the kernel table it generates holds exactly the selected operators (control flow is always
# there), a file as `lwai ops` prints it selects the same, and unknown names fail naming them.
# Arguments: -DSOURCE_DIR= -DWORK_DIR=
file(REMOVE_RECURSE ${WORK_DIR})
function(configure dir selection result_var output_var)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/${dir}
                  "-DLWAI_SELECTED_OPS=${selection}" -DLWAI_WITH_ONEDNN=OFF
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${result_var} ${result} PARENT_SCOPE)
  set(${output_var} "${out}${err}" PARENT_SCOPE)
endfunction()
function(expect_table dir)
  file(READ ${WORK_DIR}/${dir}/generated/selected_ops.inc table)
  string(REGEX MATCHALL "X\\([A-Za-z]+\\)" entries "${table}")
  if(NOT entries STREQUAL "X(Conv);X(Relu);X(Gemm)")
    message(FATAL_ERROR "${dir}: the kernel table lists '${entries}'")
  endif()
endfunction()
configure(list "Conv;Relu;If;Gemm" result output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "a valid selection failed to configure:\n${output}")
endif()
expect_table(list)
file(WRITE ${WORK_DIR}/ops.txt "Conv                         float32\nRelu float32\n\nIf bool\nGemm float32\n")
configure(file ${WORK_DIR}/ops.txt result output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "a selection file failed to configure:\n${output}")
endif()
expect_table(file)
configure(unknown "Conv;NoSuchOp;Bogus" result output)
if(result EQUAL 0 OR NOT output MATCHES "no reference kernel for: NoSuchOp, Bogus")
  message(FATAL_ERROR "unknown operators were not named:\n${output}")
endif()
