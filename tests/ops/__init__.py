"""The op families' semantics: max/avg oracles, reduce and conventions, LP, adaptive, fractional,
unpool, blur, global pooling, gradients, shape arithmetic, the lecture's examples and invariance."""
