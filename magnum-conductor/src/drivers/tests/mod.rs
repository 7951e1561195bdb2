//! Driver tests: environment selection, parameters, outputs, scale and upgrade parameters,
//! template references, and the dump the template gate validates with Heat.

mod combos;
mod dump;
mod fixtures;
mod params;
