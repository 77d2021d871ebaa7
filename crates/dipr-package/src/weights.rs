//! Tensors of model weights (being written).
