//! `inputs_impls!`: the impls of an API's `Inputs` trait (what a task can
//! take as inputs), written once for `delayed` on one node and
//! `delayed::mpi`, which differ only in their handle and graph types.

/// Implements an API's `Inputs` trait, and its seal, for `&Delayed<A>`
/// (shape [`One<A>`](crate::inputs::One)), `&[Delayed<A>]`,
/// `&Vec<Delayed<A>>` and `&[Delayed<A>; N]` (shape
/// [`List<A>`](crate::inputs::List)) and tuples of up to 8 `&Delayed`s
/// (shape: the tuple of their types), and defines the private `id_in` they
/// share.
///
/// - `inputs`, `sealed`: the trait, and the trait that seals it;
/// - `handle`, `graph`: the API's `Delayed` and `Graph` (a handle has
///   `graph()` and `id()`, a graph `same()`);
/// - `api`: how the panic message for an input of another graph starts.
///
/// Invoked once by each API, in the module that defines its `Inputs`.
macro_rules! inputs_impls {
    (
        inputs: $Inputs:ident,
        sealed: $Sealed:path,
        handle: $Delayed:ident,
        graph: $Graph:ident,
        api: $api:literal $(,)?
    ) => {
        /// Checks that `input` belongs to `graph`.
        fn id_in<A>(graph: &$Graph, input: &$Delayed<A>) -> u32 {
            assert!(
                input.graph().same(graph),
                concat!($api, ": input {:?} belongs to another Graph"),
                input
            );
            input.id()
        }

        impl<A> $Sealed for &$Delayed<A> {}
        impl<A: Send + Sync + 'static> $Inputs for &$Delayed<A> {
            type Shape = $crate::inputs::One<A>;

            fn input_ids(&self, graph: &$Graph) -> $crate::store::InputIds {
                $crate::store::InputIds::from(&[id_in(graph, self)][..])
            }
        }

        impl<A> $Sealed for &[$Delayed<A>] {}
        impl<A: Send + Sync + 'static> $Inputs for &[$Delayed<A>] {
            type Shape = $crate::inputs::List<A>;

            fn input_ids(&self, graph: &$Graph) -> $crate::store::InputIds {
                self.iter().map(|input| id_in(graph, input)).collect()
            }
        }

        impl<A> $Sealed for &Vec<$Delayed<A>> {}
        impl<A: Send + Sync + 'static> $Inputs for &Vec<$Delayed<A>> {
            type Shape = $crate::inputs::List<A>;

            fn input_ids(&self, graph: &$Graph) -> $crate::store::InputIds {
                self.as_slice().input_ids(graph)
            }
        }

        impl<A, const N: usize> $Sealed for &[$Delayed<A>; N] {}
        impl<A: Send + Sync + 'static, const N: usize> $Inputs for &[$Delayed<A>; N] {
            type Shape = $crate::inputs::List<A>;

            fn input_ids(&self, graph: &$Graph) -> $crate::store::InputIds {
                self.as_slice().input_ids(graph)
            }
        }

        // Lists of references: a loop that gathers the handles it reads
        // (from a row of the step before, say) clones none of them.
        impl<A> $Sealed for &[&$Delayed<A>] {}
        impl<A: Send + Sync + 'static> $Inputs for &[&$Delayed<A>] {
            type Shape = $crate::inputs::List<A>;

            fn input_ids(&self, graph: &$Graph) -> $crate::store::InputIds {
                self.iter().map(|input| id_in(graph, input)).collect()
            }
        }

        impl<A> $Sealed for &Vec<&$Delayed<A>> {}
        impl<A: Send + Sync + 'static> $Inputs for &Vec<&$Delayed<A>> {
            type Shape = $crate::inputs::List<A>;

            fn input_ids(&self, graph: &$Graph) -> $crate::store::InputIds {
                self.as_slice().input_ids(graph)
            }
        }

        impl<A, const N: usize> $Sealed for &[&$Delayed<A>; N] {}
        impl<A: Send + Sync + 'static, const N: usize> $Inputs for &[&$Delayed<A>; N] {
            type Shape = $crate::inputs::List<A>;

            fn input_ids(&self, graph: &$Graph) -> $crate::store::InputIds {
                self.as_slice().input_ids(graph)
            }
        }

        $crate::api::inputs_impls!(@tuple [$Inputs, $Sealed, $Delayed, $Graph] (A, 0));
        $crate::api::inputs_impls!(@tuple [$Inputs, $Sealed, $Delayed, $Graph] (A, 0) (B, 1));
        $crate::api::inputs_impls!(
            @tuple [$Inputs, $Sealed, $Delayed, $Graph] (A, 0) (B, 1) (C, 2)
        );
        $crate::api::inputs_impls!(
            @tuple [$Inputs, $Sealed, $Delayed, $Graph] (A, 0) (B, 1) (C, 2) (D, 3)
        );
        $crate::api::inputs_impls!(
            @tuple [$Inputs, $Sealed, $Delayed, $Graph] (A, 0) (B, 1) (C, 2) (D, 3) (E, 4)
        );
        $crate::api::inputs_impls!(
            @tuple [$Inputs, $Sealed, $Delayed, $Graph]
            (A, 0) (B, 1) (C, 2) (D, 3) (E, 4) (F, 5)
        );
        $crate::api::inputs_impls!(
            @tuple [$Inputs, $Sealed, $Delayed, $Graph]
            (A, 0) (B, 1) (C, 2) (D, 3) (E, 4) (F, 5) (G, 6)
        );
        $crate::api::inputs_impls!(
            @tuple [$Inputs, $Sealed, $Delayed, $Graph]
            (A, 0) (B, 1) (C, 2) (D, 3) (E, 4) (F, 5) (G, 6) (H, 7)
        );
    };

    // The tuple of `&Delayed`s of some types, whose shape is the tuple of
    // those types (`Shape` is implemented for it in `inputs.rs`).
    (@tuple [$Inputs:ident, $Sealed:path, $Delayed:ident, $Graph:ident] $(($A:ident, $k:tt))+) => {
        impl<$($A),+> $Sealed for ($(&$Delayed<$A>,)+) {}
        impl<$($A: Send + Sync + 'static),+> $Inputs for ($(&$Delayed<$A>,)+) {
            type Shape = ($($A,)+);

            fn input_ids(&self, graph: &$Graph) -> $crate::store::InputIds {
                $crate::store::InputIds::from(&[$(id_in(graph, self.$k)),+][..])
            }
        }
    };
}

pub(crate) use inputs_impls;
