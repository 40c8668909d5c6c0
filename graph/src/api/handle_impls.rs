//! `handle_impls!`: what a result's handle of either API (`delayed` on one
//! node, `delayed::mpi`) is made of and how it is cloned and shown,
//! written once for both.

/// Implements, for an API's `Delayed<T>` (a struct of `graph`, `id` and
/// `_output: PhantomData`, with `name()` and `key()`): the crate's `new` and
/// `id`, and `Clone` and `Debug` (the task's name and key), for every `T`.
///
/// - `handle`, `graph`: the API's `Delayed` and `Graph`.
///
/// Invoked once by each API, in the module that defines its `Delayed`.
macro_rules! handle_impls {
    (handle: $Delayed:ident, graph: $Graph:ident $(,)?) => {
        impl<T> $Delayed<T> {
            /// The handle to node `id` of `graph`.
            pub(crate) fn new(graph: $Graph, id: u32) -> $Delayed<T> {
                $Delayed {
                    graph,
                    id,
                    _output: ::std::marker::PhantomData,
                }
            }

            /// The node's id in its graph.
            pub(crate) fn id(&self) -> u32 {
                self.id
            }
        }

        impl<T> Clone for $Delayed<T> {
            fn clone(&self) -> Self {
                $Delayed::new(self.graph.clone(), self.id)
            }
        }

        impl<T> ::std::fmt::Debug for $Delayed<T> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct("Delayed")
                    .field("name", &self.name())
                    .field("key", &self.key())
                    .finish()
            }
        }
    };
}

pub(crate) use handle_impls;
