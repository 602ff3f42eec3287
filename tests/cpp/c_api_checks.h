/* C functions (tests/cpp/c_api_checks.c) that use lwai's C API; called by c_api_test.cc. */
#ifndef LWAI_TESTS_CPP_C_API_CHECKS_H_
#define LWAI_TESTS_CPP_C_API_CHECKS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Loads the .lwai image in place, plans the session's memory, creates the session in caller
 * memory, runs x (float32, x_dims) and copies the one float32 output into y. 0 on success. */
int RunThroughCApi(const void* model_bytes, size_t model_size, const float* x,
                   const int64_t* x_dims, int32_t x_rank, float* y, size_t y_capacity,
                   size_t* y_count, char* error, size_t error_size);

/* Each misuse gets its status and a message naming the problem. 0 when all do. */
int CheckCApiErrors(const void* model_bytes, size_t model_size, const char* missing_path,
                    char* error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* LWAI_TESTS_CPP_C_API_CHECKS_H_ */
