// std::visit with one lambda per alternative:
//   std::visit(Overload{[](const A& a) {...}, [](const B& b) {...}}, v);
#pragma once

namespace gpuhost {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

}  // namespace gpuhost
