//! `targets_trait!`: an API's `Targets` trait (what one compute can ask
//! for), its seal and its impls, written once for `delayed` on one node and
//! `delayed::mpi`, which differ only in their handle and graph types and in
//! what a result's type must be.

/// Defines an API's `Targets` trait, with the attributes (docs) written
/// before `trait Targets;`, sealed by a private `sealed::Targets`, and
/// implements both for `&Delayed<T>` (gives `T`), `&[Delayed<T>]` and
/// `&Vec<Delayed<T>>` (give `Vec<T>`) and tuples of up to 8 `&Delayed`s
/// (give a tuple); defines the private `collect_one` they share.
///
/// - `handle`, `graph`: the API's `Delayed` and `Graph` (a handle has
///   `graph()` and `id()`, a graph `same()`);
/// - `api`: how the panic message for targets of different graphs starts;
/// - `output`: the bounds of a result's type.
///
/// Invoked once by each API, in the module whose `compute` takes targets.
macro_rules! targets_trait {
    (
        handle: $Delayed:ident,
        graph: $Graph:ident,
        api: $api:literal,
        output: [$($bound:tt)+],
        $(#[$doc:meta])* trait Targets;
    ) => {
        mod sealed {
            pub trait Targets {}
        }

        $(#[$doc])*
        pub trait Targets: sealed::Targets {
            /// The results, moved to the caller.
            type Output;

            /// Adds the targets' ids to `ids`, and their graph to `graph`,
            /// checking that it is the same for all.
            #[doc(hidden)]
            fn collect(&self, graph: &mut Option<$Graph>, ids: &mut Vec<u32>);

            /// Takes the results, in the order of `collect`.
            #[doc(hidden)]
            fn outputs(results: &mut $crate::api::Results) -> Self::Output;
        }

        /// Adds `target`'s id to `ids`, and its graph to `graph`, checking
        /// that it is the graph of the targets collected before it.
        fn collect_one<T>(target: &$Delayed<T>, graph: &mut Option<$Graph>, ids: &mut Vec<u32>) {
            match graph {
                None => *graph = Some(target.graph().clone()),
                Some(graph) => assert!(
                    graph.same(target.graph()),
                    concat!(
                        $api,
                        ": {:?} belongs to another Graph than the other results asked for"
                    ),
                    target
                ),
            }
            ids.push(target.id());
        }

        impl<T> sealed::Targets for &$Delayed<T> {}
        impl<T: $($bound)+> Targets for &$Delayed<T> {
            type Output = T;

            fn collect(&self, graph: &mut Option<$Graph>, ids: &mut Vec<u32>) {
                collect_one(self, graph, ids);
            }

            fn outputs(results: &mut $crate::api::Results) -> T {
                results.next()
            }
        }

        impl<T> sealed::Targets for &[$Delayed<T>] {}
        impl<T: $($bound)+> Targets for &[$Delayed<T>] {
            type Output = Vec<T>;

            fn collect(&self, graph: &mut Option<$Graph>, ids: &mut Vec<u32>) {
                ids.reserve(self.len());
                for target in self.iter() {
                    collect_one(target, graph, ids);
                }
            }

            fn outputs(results: &mut $crate::api::Results) -> Vec<T> {
                results.rest()
            }
        }

        impl<T> sealed::Targets for &Vec<$Delayed<T>> {}
        impl<T: $($bound)+> Targets for &Vec<$Delayed<T>> {
            type Output = Vec<T>;

            fn collect(&self, graph: &mut Option<$Graph>, ids: &mut Vec<u32>) {
                self.as_slice().collect(graph, ids);
            }

            fn outputs(results: &mut $crate::api::Results) -> Vec<T> {
                <&[$Delayed<T>]>::outputs(results)
            }
        }

        $crate::api::targets_trait!(
            @tuples [$Delayed, $Graph] [$($bound)+] []
            (A, 0) (B, 1) (C, 2) (D, 3) (E, 4) (F, 5) (G, 6) (H, 7)
        );
    };

    // One impl per length: the pairs still to do join those done, one at a
    // time. Each pair carries the bounds, so that the impl can repeat them
    // for each of its types.
    (@tuples $ctx:tt [$($bound:tt)+] [$($done:tt)*]) => {};
    (@tuples $ctx:tt [$($bound:tt)+] [$($done:tt)*] ($T:ident, $k:tt) $($todo:tt)*) => {
        $crate::api::targets_trait!(@tuple $ctx $($done)* ($T, $k, [$($bound)+]));
        $crate::api::targets_trait!(
            @tuples $ctx [$($bound)+] [$($done)* ($T, $k, [$($bound)+])] $($todo)*
        );
    };

    (
        @tuple [$Delayed:ident, $Graph:ident]
        $(($T:ident, $k:tt, [$($bound:tt)+]))+
    ) => {
        impl<$($T),+> sealed::Targets for ($(&$Delayed<$T>,)+) {}
        impl<$($T: $($bound)+),+> Targets for ($(&$Delayed<$T>,)+) {
            type Output = ($($T,)+);

            fn collect(&self, graph: &mut Option<$Graph>, ids: &mut Vec<u32>) {
                $(collect_one(self.$k, graph, ids);)+
            }

            fn outputs(results: &mut $crate::api::Results) -> Self::Output {
                ($(results.next::<$T>(),)+)
            }
        }
    };
}

pub(crate) use targets_trait;
