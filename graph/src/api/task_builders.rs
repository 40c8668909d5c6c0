//! `task_builders!`: the four methods that add a task — `delayed`,
//! `try_delayed`, `task` and `try_task` — written once for
//! `delayed::Graph`, `delayed::mpi::Graph` and `delayed::mpi::Placed`,
//! which differ only in their handle and input types, in what a task's
//! output must be, and in what the node is added to.

/// Defines, inside an `impl` block, the methods `delayed`, `try_delayed`,
/// `task` and `try_task`, each with the attributes (docs) written before
/// its name.
///
/// The methods use the `Delayed`, `Inputs` and `Refs` of the API, as named
/// where the macro is invoked, and:
///
/// - `output`: the bounds of a task's output type;
/// - `via`, if given: the method of `self` that gives what a node is added
///   to; else it is `self`. That has `marked_ids(&inputs)` (the ids of the
///   inputs, checked, marked by `InputIds::with_values_to_drop`) and
///   `push::<S, T, F>(name, ids, task)` (adds the node running `task`).
macro_rules! task_builders {
    (
        output: [$($bound:tt)+],
        $(via: $via:ident,)?
        $(#[$delayed:meta])* fn delayed;
        $(#[$try_delayed:meta])* fn try_delayed;
        $(#[$task:meta])* fn task;
        $(#[$try_task:meta])* fn try_task;
    ) => {
        $(#[$delayed])*
        pub fn delayed<T, F>(
            &self, name: impl Into<::std::borrow::Cow<'static, str>>, f: F,
        ) -> Delayed<T>
        where
            F: Fn() -> T + Send + Sync + 'static,
            T: $($bound)+,
        {
            self$(.$via())?.push::<$crate::store::NoInputs, _, _>(
                name.into(),
                &mut $crate::store::InputIds::from(&[][..]),
                move |_: $crate::store::Args<'_>| Ok(f()),
            )
        }

        $(#[$try_delayed])*
        pub fn try_delayed<T, E, F>(
            &self, name: impl Into<::std::borrow::Cow<'static, str>>, f: F,
        ) -> Delayed<T>
        where
            F: Fn() -> Result<T, E> + Send + Sync + 'static,
            T: $($bound)+,
            E: Into<$crate::store::BoxError>,
        {
            self$(.$via())?.push::<$crate::store::NoInputs, _, _>(
                name.into(),
                &mut $crate::store::InputIds::from(&[][..]),
                move |_: $crate::store::Args<'_>| f().map_err(Into::into),
            )
        }

        $(#[$task])*
        pub fn task<I, T, F>(
            &self, name: impl Into<::std::borrow::Cow<'static, str>>, inputs: I, f: F,
        ) -> Delayed<T>
        where
            I: Inputs,
            F: for<'a> Fn(Refs<'a, I>) -> T + Send + Sync + 'static,
            T: $($bound)+,
        {
            let node = self$(.$via())?;
            let mut ids = node.marked_ids(&inputs);
            node.push::<I::Shape, _, _>(name.into(), &mut ids, move |args: $crate::store::Args<'_>| {
                Ok(f(<I::Shape as $crate::inputs::Shape>::refs(args)))
            })
        }

        $(#[$try_task])*
        pub fn try_task<I, T, E, F>(
            &self, name: impl Into<::std::borrow::Cow<'static, str>>, inputs: I, f: F,
        ) -> Delayed<T>
        where
            I: Inputs,
            F: for<'a> Fn(Refs<'a, I>) -> Result<T, E> + Send + Sync + 'static,
            T: $($bound)+,
            E: Into<$crate::store::BoxError>,
        {
            let node = self$(.$via())?;
            let mut ids = node.marked_ids(&inputs);
            node.push::<I::Shape, _, _>(name.into(), &mut ids, move |args: $crate::store::Args<'_>| {
                f(<I::Shape as $crate::inputs::Shape>::refs(args)).map_err(Into::into)
            })
        }
    };
}

pub(crate) use task_builders;
