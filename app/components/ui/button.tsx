/** Buttons in the look of the sign-in and consent pages (app/components/page.tsx). */
import { forwardRef, type ButtonHTMLAttributes } from "react";

export type ButtonTone = "primary" | "secondary" | "danger" | "ghost";

const TONE: Record<ButtonTone, string> = {
  primary: "bg-blue-600 text-white shadow-sm hover:bg-blue-700 focus-visible:ring-blue-500",
  secondary: "border border-gray-300 bg-white text-gray-800 shadow-sm hover:bg-gray-50 focus-visible:ring-blue-500",
  danger: "bg-red-600 text-white shadow-sm hover:bg-red-700 focus-visible:ring-red-500",
  ghost: "text-blue-700 hover:bg-blue-50 focus-visible:ring-blue-500",
};

export const buttonClass = (tone: ButtonTone = "secondary", size: "sm" | "md" = "md") =>
  `inline-flex items-center justify-center gap-1 rounded-md font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-offset-2 disabled:cursor-not-allowed disabled:opacity-50 ${
    size === "sm" ? "px-2.5 py-1.5 text-xs" : "px-4 py-2 text-sm"
  } ${TONE[tone]}`;

export const Button = forwardRef<
  HTMLButtonElement,
  ButtonHTMLAttributes<HTMLButtonElement> & { tone?: ButtonTone; size?: "sm" | "md" }
>(function Button({ tone = "secondary", size = "md", className = "", type = "button", ...props }, ref) {
  return <button ref={ref} type={type} className={`${buttonClass(tone, size)} ${className}`} {...props} />;
});
