// Packed weights are shared by the sessions of one model and survive re-preparation.
#include "kernels/shared_packing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "lwai/session.h"
#include "tests/cpp/net_builder.h"

namespace lwai::testing {
namespace {

struct Packed {
  int value = 0;
};

TEST(SharedPacking, SameKeyGivesOneObjectWhileAlive) {
  static const float weights[4] = {1, 2, 3, 4};
  int made = 0;
  auto make = [&] {
    ++made;
    return Result<std::unique_ptr<Packed>>(std::make_unique<Packed>(Packed{made}));
  };
  PackingKey key("test");
  key.Constant(weights, /*model_constant=*/true).Param(4);
  {
    auto first = SharedPacking<Packed>(key, make);
    auto second = SharedPacking<Packed>(key, make);
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(first->get(), second->get());
    EXPECT_EQ(made, 1);

    PackingKey other_param("test");
    other_param.Constant(weights, true).Param(2);
    auto third = SharedPacking<Packed>(other_param, make);
    ASSERT_TRUE(third.ok());
    EXPECT_NE(third->get(), first->get());
    EXPECT_EQ(made, 2);
  }
  // Held weakly: once nobody holds it, the next call packs again.
  auto again = SharedPacking<Packed>(key, make);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->value, 3);
}

TEST(SharedPacking, ValuesOfOneSessionAreNeverShared) {
  static const float weights[4] = {1, 2, 3, 4};
  int made = 0;
  auto make = [&] {
    return Result<std::unique_ptr<Packed>>(std::make_unique<Packed>(Packed{++made}));
  };
  PackingKey key("test");
  key.Constant(weights, /*model_constant=*/false);
  EXPECT_FALSE(key.shared());
  auto first = SharedPacking<Packed>(key, make);
  auto second = SharedPacking<Packed>(key, make);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->get(), second->get());
  EXPECT_EQ(made, 2);
}

TEST(SharedPacking, ErrorsAreReturnedAndNotStored) {
  static const float weights[1] = {1};
  PackingKey key("test-error");
  key.Constant(weights, true);
  auto failed = SharedPacking<Packed>(
      key, [] { return Result<std::unique_ptr<Packed>>(InvalidArgument("cannot pack")); });
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("cannot pack"), std::string::npos);
  auto made = SharedPacking<Packed>(
      key, [] { return Result<std::unique_ptr<Packed>>(std::make_unique<Packed>(Packed{7})); });
  ASSERT_TRUE(made.ok());
  EXPECT_EQ((*made)->value, 7);
}

// Projections with constant weights (packed by lwai's GEMM on the Eigen backend) and a
// pointwise convolution and 3x3 convolutions on a small map (lwai's kernels in the XNNPACK
// partition when they win, XNNPACK's own operators otherwise).
std::shared_ptr<Model> BuildModel() {
  Net net(21);
  const int x = net.Input({-1, 64, 256});
  const int h = net.Op(OpType::MatMul, {x, net.Const({256, 512}, -0.1f, 0.1f)});
  const int y = net.Op(OpType::MatMul, {net.Op(OpType::Relu, {h}), net.Const({512, 128})});
  net.Output(y);
  const int image = net.Input({-1, 128, 6, 6});
  const int c1 = net.Conv(image, 128, 128, {3, 3}, {IntsAttr("pads", {1, 1, 1, 1})});
  const int c2 = net.Conv(net.Op(OpType::Relu, {c1}), 128, 256, {1, 1});
  net.Output(c2);
  auto model = net.Build();
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? *model : nullptr;
}

std::vector<std::vector<float>> RunModel(Session& session, int64_t batch) {
  std::vector<float> x(batch * 64 * 256), image(batch * 128 * 36);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.1f * static_cast<float>(i));
  for (size_t i = 0; i < image.size(); ++i) image[i] = std::cos(0.3f * static_cast<float>(i));
  const Status status =
      session.Run({TensorRef{DataType::kFloat32, Shape({batch, 64, 256}), x.data()},
                   TensorRef{DataType::kFloat32, Shape({batch, 128, 6, 6}), image.data()}});
  EXPECT_TRUE(status.ok()) << status.ToString();
  std::vector<std::vector<float>> outputs;
  for (int o = 0; o < 2 && status.ok(); ++o) {
    const TensorRef out = session.output(o);
    const float* p = static_cast<const float*>(out.data);
    outputs.emplace_back(p, p + out.shape.NumElements());
  }
  return outputs;
}

class SessionsShare : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(SessionsShare, PackedWeightsOfOneModel) {
  std::shared_ptr<Model> model = BuildModel();
  ASSERT_NE(model, nullptr);
  SessionOptions options;
  options.backends = GetParam();
  const int before = SharedPackingCount();
  auto first = Session::Create(model, options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const auto expected = RunModel(**first, 1);
  const int packed_by_one = SharedPackingCount() - before;
  // Both MatMuls pack their weights (plus whatever convolutions lwai's kernels run).
  EXPECT_GE(packed_by_one, 2);

  auto second = Session::Create(model, options);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(RunModel(**second, 1), expected);
  EXPECT_EQ(SharedPackingCount() - before, packed_by_one) << "the second session packed again";

  // New shapes re-prepare without packing again, and batches stay independent.
  const auto batch3 = RunModel(**second, 3);
  ASSERT_EQ(batch3.size(), 2u);
  EXPECT_TRUE(std::equal(expected[0].begin(), expected[0].end(), batch3[0].begin()));
  EXPECT_EQ(SharedPackingCount() - before, packed_by_one);

  first->reset();
  EXPECT_EQ(SharedPackingCount() - before, packed_by_one) << "still used by the second session";
  second->reset();
  EXPECT_EQ(SharedPackingCount(), before) << "packed weights outlived their sessions";
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionsShare,
                         ::testing::Values(std::vector<std::string>{},
                                           std::vector<std::string>{"eigen"}));

TEST(SessionsShare, CreatedConcurrentlyThePackingIsDoneOnce) {
  std::shared_ptr<Model> model = BuildModel();
  ASSERT_NE(model, nullptr);
  const int before = SharedPackingCount();
  std::unique_ptr<Session> reference = std::move(Session::Create(model).value());
  const auto expected = RunModel(*reference, 2);
  const int packed_by_one = SharedPackingCount() - before;
  EXPECT_GE(packed_by_one, 2);
  reference.reset();

  constexpr int kThreads = 4;
  std::vector<std::unique_ptr<Session>> sessions(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto created = Session::Create(model);
      if (!created.ok()) {
        ++failures;
        return;
      }
      sessions[t] = std::move(created).value();
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(SharedPackingCount() - before, packed_by_one);
  for (auto& session : sessions) EXPECT_EQ(RunModel(*session, 2), expected);
}

}  // namespace
}  // namespace lwai::testing
