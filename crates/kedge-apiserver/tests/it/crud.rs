//! Create, read, update and delete through kubectl.
