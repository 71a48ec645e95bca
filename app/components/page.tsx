/** The shared card layout of the sign-in, consent and error pages. */
export function Page({ title, children, wide = false }: { title: string; children: React.ReactNode; wide?: boolean }) {
  return (
    <main className="flex min-h-full items-center justify-center px-4 py-12">
      <div className={`w-full ${wide ? "max-w-2xl" : "max-w-md"} rounded-xl border border-gray-200 bg-white p-8 shadow-sm`}>
        <p className="mb-6 text-xs font-semibold uppercase tracking-wider text-blue-700">MCP OAuth Server</p>
        <h1 className="mb-4 text-xl font-semibold text-gray-900">{title}</h1>
        {children}
      </div>
    </main>
  );
}
