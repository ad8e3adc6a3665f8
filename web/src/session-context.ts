// The signed-in user, for the components that show or hide what the user's role allows.

import { createContext } from "preact";
import type { Me } from "./auth";

export const SessionContext = createContext<Me | null>(null);
