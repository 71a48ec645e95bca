/// <reference types="@remix-run/dev" />
/// <reference types="@remix-run/node" />

// Single fetch is on (remix.config.js future.v3_singleFetch): loader and action data travel as turbo-stream, so a
// Date stays a Date. This tells the types so (useLoaderData<typeof loader>() keeps Date, Map, … instead of JSON).
declare module "@remix-run/server-runtime" {
  interface Future {
    v3_singleFetch: true;
  }
}

export {};
